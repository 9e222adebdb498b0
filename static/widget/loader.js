/*! Phản hồi widget loader, MIT */
/* Banner + dialog. Budget: ≤ 4 KB gzip as served (bench/widget_size.py).
 * Embed: <script async src="RELAY/static/widget/loader.js" data-site="KEY"></script>
 * No dependencies, no network before the banner paints, no cookies or storage,
 * never throws into the host page. The form itself lives in an iframe on the
 * relay's origin so host-page scripts cannot read what a citizen types. */
(function (w, d) {
  "use strict";
  var old = w.PhanHoi;
  // Loaded twice: the first copy keeps working, the second does nothing.
  if (old && old.v) return;
  var T = {
    vi: {
      t: "Phản ánh, kiến nghị với chính quyền",
      s: "Nhận mã để theo dõi kết quả xử lý.",
      o: "Gửi phản ánh",
      b: "Phản ánh, kiến nghị",
      k: "Tra cứu",
      c: "Đóng",
      l: "Đang tải…",
      e: "Hiện chưa kết nối được. Vui lòng thử lại sau.",
      f: "Gửi phản ánh, kiến nghị",
      r: "Tra cứu phản ánh, kiến nghị"
    },
    en: {
      t: "Feedback to the local government",
      s: "Get a code to follow up the answer.",
      o: "Send feedback",
      b: "Feedback",
      k: "Look up",
      c: "Close",
      l: "Loading…",
      e: "We cannot connect right now. Please try again later.",
      f: "Send feedback",
      r: "Look up your feedback"
    }
  };
  var CSS =
    ":host{all:initial!important;display:block!important;min-height:72px!important;container-type:inline-size!important;" +
    "--a:var(--phanhoi-accent,#9b1c1c);--f:var(--phanhoi-fg,#1b1b1b);--g:var(--phanhoi-bg,#fff8ec);--r:var(--phanhoi-radius,8px)}" +
    ":host([hidden]){display:none!important}" +
    ":host(.fx){min-height:0!important;height:76px!important}" +
    "*{box-sizing:border-box}[hidden]{display:none!important}" +
    ".w{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;min-height:72px;padding:10px 16px;" +
    "font:400 16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:var(--f);background:var(--g);" +
    "border:1px solid #d9c7a8;border-left:6px solid var(--a);border-radius:var(--r);text-align:left}" +
    ":host(.fx) .w{position:fixed;left:8px;right:8px;bottom:8px;z-index:2147483647;box-shadow:0 2px 10px rgba(0,0,0,.3)}" +
    ":host(.fx) .w p{display:none}" +
    ".x{flex:1 1 240px;min-width:0}" +
    "h2{margin:0;font-size:17px;font-weight:700;line-height:1.3;color:var(--f)}" +
    "p{margin:2px 0 0;font-size:14px;color:#3d3d3d;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}" +
    // Fixed heights per width band (72px, or 116px when narrow) so a reserved slot never shifts.
    "@container (max-width:759px){p{display:none}}" +
    "@container (max-width:559px){.w{min-height:116px;flex-direction:column;align-items:stretch;justify-content:center}.x{flex:none}}" +
    // The bar fixed to a phone's bottom stays one row of buttons, as tall as its spacer (76px).
    "@container (max-width:559px){:host(.fx) .w{min-height:0;flex-direction:row;padding:10px}:host(.fx) .x{display:none}:host(.fx) .n{flex:1;flex-wrap:nowrap}:host(.fx) button{flex:1 1 auto;padding:0 8px;white-space:nowrap}}" +
    "button{all:unset;box-sizing:border-box;display:inline-flex;align-items:center;justify-content:center;" +
    "min-height:44px;min-width:44px;padding:0 16px;border-radius:6px;cursor:pointer;font-size:16px;font-weight:700;line-height:1.2;" +
    "font-family:inherit;background:var(--a);color:#fff;border:2px solid var(--a);text-align:center}" +
    "button.k{background:#fff;color:var(--a)}" +
    "button:focus-visible{outline:3px solid #1a4fd0;outline-offset:2px}" +
    "button:hover{text-decoration:underline}" +
    // The floating button sits in no .w: give it the banner's fonts, not the browser's default serif.
    ".bt{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;position:fixed;right:16px;bottom:16px;z-index:2147483647;box-shadow:0 2px 10px rgba(0,0,0,.35);border-radius:24px;min-height:48px}" +
    ".sl .bt{position:static}" +
    ".n{display:flex;gap:8px;flex-wrap:wrap}" +
    "dialog{width:min(680px,calc(100vw - 16px));max-width:none;max-height:calc(100vh - 16px);padding:0;border:0;" +
    "border-radius:var(--r);background:#fff;color:#1b1b1b;font:400 16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}" +
    "dialog::backdrop{background:rgba(0,0,0,.6)}" +
    ".hd{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:6px 6px 6px 16px;border-bottom:1px solid #ddd}" +
    ".hd h2{font-size:18px}" +
    "iframe{display:block;width:100%;height:480px;max-height:calc(100vh - 80px);border:0}" +
    ".in iframe{max-height:none;border:1px solid #ccc;border-radius:var(--r)}" +
    ".m{margin:16px}" +
    "@media (prefers-reduced-motion:no-preference){dialog[open]{animation:ph .15s ease-out}}" +
    "@keyframes ph{from{opacity:0;transform:translateY(8px)}}";

  function noop() {}
  function el(p, tag, cls, txt) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (txt) e.textContent = txt;
    if (p) p.appendChild(e);
    return e;
  }
  function start() {
    var s = d.currentScript || d.querySelector("script[data-site][src*='/static/widget/loader']");
    if (!s) return;
    var ds = s.dataset,
      key = ds.site || "",
      q = [],
      H = { submitted: [], closed: [] },
      base,
      L,
      ready = false,
      host,
      root,
      dlg,
      head,
      msg,
      frames = {},
      cur,
      opener,
      dyn,
      heights = {};
    if (!/^[\w-]{1,64}$/.test(key)) return;
    base = new URL(s.src, location.href).origin;
    L = T[String(ds.lang || d.documentElement.lang || "vi").slice(0, 2).toLowerCase() == "en" ? "en" : "vi"];

    function emit(name, detail) {
      var a = H[name] || [];
      for (var i = 0; i < a.length; i++) {
        try {
          a[i](detail);
        } catch (e) {
          // A host handler's error stays the host's problem, reported without breaking us.
          setTimeout(function () { throw e; });
        }
      }
    }
    function url(page, extra) {
      var u = base + "/w/" + encodeURIComponent(key) + "/" + page + "?lang=" + (L === T.en ? "en" : "vi") +
        "&origin=" + encodeURIComponent(location.origin) +
        "&u=" + encodeURIComponent(String(location.href).split("#")[0].slice(0, 500));
      return extra ? u + extra : u;
    }
    function sizeRule() {
      var r = "";
      for (var k in heights) r += "iframe.f-" + k + "{height:" + heights[k] + "px}";
      dyn.replaceSync(r);
    }
    function frame(page, parent, extra) {
      var f = el(parent, "iframe", "f-" + page);
      f.title = page == "track" ? L.r : L.f;
      f.setAttribute("allow", "geolocation; clipboard-write");
      f.src = url(page, extra);
      frames[page] = f;
      return f;
    }
    function ensureDialog() {
      if (dlg) return;
      dlg = el(root, "dialog");
      dlg.setAttribute("aria-labelledby", "ph-h");
      var hd = el(dlg, "div", "hd");
      head = el(hd, "h2", "", L.f);
      head.id = "ph-h";
      var c = el(hd, "button", "k", L.c);
      c.type = "button";
      c.addEventListener("click", close);
      msg = el(dlg, "p", "m", L.l);
      msg.setAttribute("role", "status");
      dlg.addEventListener("close", function () {
        try {
          if (opener && opener.focus) opener.focus();
        } catch (e) {}
        emit("closed", {});
      });
    }
    function open(page, code) {
      if (!root) return;
      page = page == "track" ? "track" : "form";
      // Inline variant: the form is already on the page; take the reader there.
      if (page == "form" && frames.form && frames.form.parentNode !== dlg) return frames.form.focus();
      ensureDialog();
      var extra = page == "track" && code ? "&code=" + encodeURIComponent(code) : "";
      if (!frames[page] || (extra && frames[page].src.indexOf(extra) < 0)) {
        if (frames[page]) dlg.removeChild(frames[page]);
        frame(page, dlg, extra).hidden = true;
        ready = false;
        msg.hidden = false;
        msg.textContent = L.l;
        // No answer from the relay: say so plainly instead of showing a broken frame.
        setTimeout(function () {
          if (!ready) {
            frames[page].hidden = true;
            msg.textContent = L.e;
          }
        }, 10000);
      }
      for (var k in frames) if (frames[k].parentNode === dlg) frames[k].hidden = k != page || !frames[k].ok;
      cur = page;
      head.textContent = page == "track" ? L.r : L.f;
      if (!dlg.open) {
        opener = (root.activeElement || d.activeElement) || opener;
        dlg.showModal();
      }
      if (frames[page].ok) frames[page].focus();
    }
    function close() {
      if (dlg && dlg.open) dlg.close();
    }
    function run(a) {
      try {
        var c = a[0];
        if (c == "open") open("form");
        else if (c == "track") open("track", a[1]);
        else if (c == "close") close();
        else if (c == "on" && H[a[1]] && typeof a[2] == "function") H[a[1]][H[a[1]].length] = a[2];
      } catch (e) {}
    }
    function api() {
      if (root) run(arguments);
      else q[q.length] = arguments;
    }
    api.v = 1;
    api.q = [];
    if (old && old.q) for (var i = 0; i < old.q.length; i++) q[q.length] = old.q[i];
    w.PhanHoi = api;

    w.addEventListener("message", function (e) {
      try {
        var m = e.data, page;
        if (e.origin !== base || !m || m.ph !== 1) return;
        for (var k in frames) if (frames[k].contentWindow === e.source) page = k;
        if (!page) return;
        var f = frames[page];
        if (m.type == "ready" && !f.ok) {
          f.ok = true;
          if (page == cur) {
            ready = true;
            msg.hidden = true;
            f.hidden = false;
            if (dlg.open) f.focus();
          }
        } else if (m.type == "resize" && m.height > 0) {
          heights[page] = Math.min(Math.ceil(+m.height), 20000);
          sizeRule();
        } else if (m.type == "close") close();
        // "Look up" on the success screen: the lookup opens in its own view; the form stays a form.
        else if (m.type == "track") {
          e.source.postMessage({ ph: 1, type: "ack" }, base);
          open("track", String(m.code || ""));
        }
        else if (m.type == "submitted") emit("submitted", { tracking_code: String(m.code || "") });
      } catch (x) {}
    });

    function paint() {
      var slot = d.querySelector("[data-phanhoi-slot]"),
        v = ds.variant || (slot && slot.getAttribute("data-variant")) || "banner",
        sh = new CSSStyleSheet(),
        box;
      host = d.createElement("phanhoi-widget");
      host.setAttribute("data-site", key);
      root = host.attachShadow({ mode: "open" });
      dyn = new CSSStyleSheet();
      var th = "";
      // Theme via data attributes; only plain colour values get through.
      if (/^#[0-9a-f]{3,8}$/i.test(ds.accent || "")) th += "--a:" + ds.accent + ";";
      if (/^#[0-9a-f]{3,8}$/i.test(ds.bg || "")) th += "--g:" + ds.bg + ";";
      if (/^#[0-9a-f]{3,8}$/i.test(ds.fg || "")) th += "--f:" + ds.fg + ";";
      sh.replaceSync(CSS + (th ? ":host{" + th + "}" : ""));
      root.adoptedStyleSheets = [sh, dyn];
      if (v == "inline" && slot) {
        box = el(root, "div", "in");
        frame("form", box, "&inline=1").addEventListener("load", function () {
          ready = true;
        });
      } else if (v == "button") {
        box = el(root, "div", slot ? "sl" : "");
        var b = el(box, "button", "bt", L.b);
        b.type = "button";
        b.addEventListener("click", function () { open("form"); });
      } else {
        box = el(root, "section", "w");
        box.setAttribute("aria-label", L.t);
        var x = el(box, "div", "x");
        el(x, "h2", "", L.t);
        el(x, "p", "", L.s);
        var n = el(box, "div", "n");
        var o = el(n, "button", "", L.o);
        o.type = "button";
        o.addEventListener("click", function () { open("form"); });
        var k = el(n, "button", "k", L.k);
        k.type = "button";
        k.addEventListener("click", function () { open("track"); });
      }
      if (slot) {
        slot.textContent = "";
        slot.appendChild(host);
      } else {
        // No slot: an in-flow spacer at the end of the page holds a fixed bar,
        // so the bar never covers the last lines of the page's content.
        host.className = "fx";
        d.body.appendChild(host);
      }
      for (var i = 0; i < q.length; i++) run(q[i]);
      q = [];
    }
    if (d.readyState == "loading") d.addEventListener("DOMContentLoaded", function () { try { paint(); } catch (e) {} });
    else paint();
  }
  try {
    start();
  } catch (e) {
    noop(e);
  }
})(window, document);
