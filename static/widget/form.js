/* Phản hồi widget: form and status pages, on the relay's origin.
   Progressive enhancement: both pages work as plain HTML forms without this file.
   Drafts stay in memory only (no storage); messages to the host page name its origin.
   English pages carry English texts for the relay's problem types and fields (T.problems,
   T.field_errors): the relay answers in Vietnamese, which stays the source of truth. */
(function () {
  "use strict";
  var d = document,
    h = d.documentElement,
    po = h.getAttribute("data-parent-origin"),
    T = JSON.parse(d.getElementById("ph-t").textContent),
    framed = po && window.parent !== window,
    P = T.problems,
    F = T.field_errors;

  function $(s, r) { return (r || d).querySelector(s); }
  function $$(s, r) { return Array.prototype.slice.call((r || d).querySelectorAll(s)); }
  function fmt(s, o) { return s.replace(/\{(\w+)\}/g, function (m, k) { return k in o ? o[k] : m; }); }
  function tell(m) {
    if (!framed) return;
    m.ph = 1;
    try { window.parent.postMessage(m, po); } catch (e) {}
  }
  function size() { tell({ type: "resize", height: Math.ceil(d.body.getBoundingClientRect().height) }); }
  // Summaries and new screens come into view from their top; fields only as far as needed.
  function focus(el, top) { if (el) { el.focus(); if (el.scrollIntoView) el.scrollIntoView({ block: top ? "start" : "nearest" }); } }
  function busy(btn, on) {
    if (!btn) return;
    if (on) {
      btn.setAttribute("data-label", btn.textContent);
      btn.textContent = btn.getAttribute("data-busy") || btn.textContent;
    } else if (btn.getAttribute("data-label")) btn.textContent = btn.getAttribute("data-label");
    btn.setAttribute("aria-busy", on ? "true" : "false");
    btn.disabled = on;
  }
  // wait: ms before a request that gets no answer is given up (as a lost connection is), so
  // the reader can send again rather than watch a busy button for as long as the browser waits.
  function api(method, url, body, headers, wait) {
    var ctl = wait && window.AbortController && new AbortController(), t = ctl && setTimeout(function () { ctl.abort(); }, wait);
    headers = headers || {};
    headers["Accept"] = "application/json";
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit", signal: ctl ? ctl.signal : undefined })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { clearTimeout(t); return { status: r.status, body: j }; });
      });
  }
  /* A text's length as the relay counts it (intake/text.clean): Unicode NFC, invisible and
     control characters dropped, runs of spaces as one, trimmed (each line, in multi-line text),
     then counted in code points. So "ộ" typed as o + two combining marks (Unikey's "Unicode
     tổ hợp", macOS) is one character, as is an emoji, here as on the relay. */
  // The relay's list (intake/text.py, _STRIP): control characters and lone combining marks on purpose.
  // eslint-disable-next-line no-control-regex, no-misleading-character-class
  var INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff]/g,
    SPACES = /[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+/g;
  function len(s, multi) {
    s = String(s);
    if (s.normalize) s = s.normalize("NFC");
    s = s.replace(/\r\n?/g, "\n").replace(INVISIBLE, "");
    s = multi ? s.split("\n").map(function (l) { return l.replace(SPACES, " ").trim(); }).join("\n").replace(/\n{3,}/g, "\n\n")
      : s.replace(/\n/g, " ").replace(SPACES, " ");
    return Array.from(s.trim()).length;
  }
  function slug(b) { return String((b && (b.type || b.code)) || "").split("/").pop(); }
  function problem(res) {
    if (slug(res.body) === "idempotency-key-reused") return T.err_used;
    if (res.status === 429) return T.err_rate;
    if (res.status >= 500) return T.err_server;
    if (P) return P[slug(res.body)] || T.err_generic;
    return (res.body && (res.body.detail || res.body.title)) || T.err_server;
  }

  if (framed) {
    var fb;
    window.addEventListener("message", function (e) {
      if (e.origin === po && e.source === window.parent && e.data && e.data.ph === 1 && e.data.type === "ack") clearTimeout(fb);
    });
    if (window.ResizeObserver) new ResizeObserver(size).observe(d.body);
    window.addEventListener("load", size);
    /* The banner's dialog focuses this frame when it opens (loader.js: iframe.focus() once
       "ready" arrives), which puts focus in this document but on nothing (WCAG 2.4.3, 2.4.7).
       Take it to the first field, as a modal dialog should. The first field, not the h1:
       in the dialog the h1 is shown to screen readers only (the dialog's title bar names the
       page, and the dialog and frame titles are announced on the way in), so a focused h1
       would show no focus ring; "Lĩnh vực" is the first thing to do, its label and
       "required" are read out, and the intro above stays a Shift+Tab/virtual cursor away.
       Lookup: the code, or the contact when the code came filled in (?code=).
       Only focus that lands on nothing: a Tab into the frame, a click, or a reader coming
       back to a field they were on keeps its place; the inline form (.in) never moves. */
    if (!h.classList.contains("in")) {
      var tapped = 0;
      d.addEventListener("pointerdown", function () { tapped = Date.now(); }, true);
      window.addEventListener("focus", function () {
        if (Date.now() - tapped < 500) return;
        // Let focus that arrives with this event (Tab) settle first.
        setTimeout(function () {
          var a = d.activeElement, c = $("#t-code");
          if (a && a !== d.body && a !== h) return;
          a = $("[autofocus]") || (c ? (c.value ? $("#t-contact") : c) : $("#f-category"));
          // focusVisible: the keypress that opened the dialog happened in the host page, which
          // this document cannot see; ask for the ring outright (text fields show it anyway).
          if (a) a.focus({ focusVisible: true });
        });
      });
    }
    // Esc inside the frame never reaches the host's <dialog>, so ask it to close.
    d.addEventListener("keydown", function (e) {
      // Not while an IME composes: its Escape drops the word being composed.
      if (e.key === "Escape" && !e.defaultPrevented && !e.isComposing) tell({ type: "close" });
    });
    d.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a[href^='#']"), t = e.target.closest && e.target.closest("a[data-track]");
      if (t && !h.classList.contains("in")) {
        // Ask the banner to open its lookup view (its title and the Send button stay right);
        // a banner too old to answer "ack" leaves this frame showing, so go there here.
        e.preventDefault();
        // From the success screen with its code; from the form's own link with none.
        var ok = t.closest(".ok");
        tell({ type: "track", code: ok ? $("[data-code]", ok).textContent.trim() : "" });
        fb = setTimeout(function () { location.href = t.href; }, 1000);
      } else if (a) {
        e.preventDefault();
        focus(d.getElementById(a.getAttribute("href").slice(1)));
      }
    });
  }

  /* ---------------- submission form ---------------- */
  var form = $("#ph-form");
  var sum = $("#loi");

  function fieldId(path) { return "f-" + path.replace(/\./g, "-"); }
  function clearErrors() {
    $$("[aria-invalid]", form).forEach(function (el) { el.removeAttribute("aria-invalid"); });
    $$(".fe", form).forEach(function (el) { el.hidden = true; el.textContent = ""; });
    sum.hidden = true;
    $("ul", sum).textContent = "";
  }
  function showErrors(fields, general) {
    var ul = $("ul", sum), k, li, a, input, p, n = 0;
    clearErrors();
    (general || []).forEach(function (g) { li = d.createElement("li"); li.textContent = g; ul.appendChild(li); n++; });
    for (k in fields) {
      input = d.getElementById(fieldId(k));
      if (!input) {
        li = d.createElement("li"); li.textContent = fields[k][0]; ul.appendChild(li); n++;
        continue;
      }
      input.setAttribute("aria-invalid", "true");
      p = d.getElementById("e-" + k.replace(/\./g, "-"));
      if (p) { p.textContent = fields[k].join(" "); p.hidden = false; }
      var lab = $("label[for='" + input.id + "']");
      fields[k].forEach(function (m) {
        li = d.createElement("li");
        a = d.createElement("a");
        a.href = "#" + input.id;
        // The consent label is the whole consent text: the summary names it by its short title.
        a.textContent = (input.getAttribute("data-label") || (lab ? lab.textContent.replace(/\s*\*$/, "") : k)) + ": " + m;
        li.appendChild(a);
        ul.appendChild(li);
        n++;
      });
    }
    if (!n) return;
    sum.hidden = false;
    focus(sum, 1);
  }
  var ALIAS = { submitter: "submitter.phone", "submitter.contact": "submitter.phone", consent: "consent.accepted",
    "consent.version": "consent.accepted", location: "location.address", "location.lat": "location.address",
    "location.lon": "location.address", "notify.by": "notify", "notify.consent": "notify",
    "notify.consent.version": "notify", "notify.consent.accepted": "notify" };
  function serverErrors(errs, type) {
    var fields = {}, general = [], k, p, msgs;
    for (k in errs) {
      p = ALIAS[k] || k;
      msgs = [].concat(errs[k]);
      if (F) msgs = [(p === "files" && P[type]) || F[p] || P["validation-error"]];
      if (d.getElementById(fieldId(p))) fields[p] = (fields[p] || []).concat(msgs);
      else general = general.concat(msgs);
    }
    showErrors(fields, general);
  }
  function val(name) { var el = form.elements[name]; return el ? String(el.value).trim() : ""; }
  function opt(name) { return val(name) || null; }
  function num(name) { var v = parseFloat(val(name)); return isFinite(v) ? v : null; }
  function payload() {
    var p = {
      category: opt("category"),
      agency: opt("agency"),
      title: val("title"),
      content: form.elements.content.value,
      location: { commune_code: opt("location.commune_code"), address: opt("location.address"), lat: num("location.lat"), lon: num("location.lon") },
      submitter: { name: opt("submitter.name"), phone: opt("submitter.phone"), email: opt("submitter.email") },
      confidential: form.elements.confidential.checked,
      consent: { version: val("consent.version"), accepted: form.elements["consent.accepted"].checked },
      hp: form.elements.hp.value
    };
    // "Báo cho tôi khi có trả lời": only when ticked; the tick is the notice's own consent.
    var nb = $("input[name='notify.by']:checked", form) || $("input[type=hidden][name='notify.by']", form);
    if (form.elements.notify && form.elements.notify.checked) {
      p.notify = { by: nb ? nb.value : "", consent: { version: val("notify.consent.version"), accepted: true } };
    }
    if (opt("source_url")) p.source_url = val("source_url");
    if (opt("src")) p.src = val("src");
    return p;
  }
  function check() {
    var f = {};
    ["category", "title", "content", "submitter.name"].forEach(function (k) {
      var el = form.elements[k];
      if (el && el.hasAttribute("required") && !String(el.value).trim()) f[k] = [el.tagName === "SELECT" ? T.err_choose : T.err_required];
    });
    // The limits said beside the fields, checked before sending, counted as the relay counts:
    // nothing is cut silently (the fields have no maxlength, which would cut a paste unseen).
    ["title", "content", "location.address", "submitter.name"].forEach(function (k) {
      var el = form.elements[k], n, lo, hi;
      if (!el || f[k] || !(n = len(el.value, k === "content"))) return;
      lo = +el.getAttribute("data-min");
      hi = +el.getAttribute("data-max");
      if (n < lo) f[k] = [fmt(T.err_short, { min: lo, n: n })];
      else if (hi && n > hi) f[k] = [fmt(T.err_long, { max: nf(hi), n: nf(n) })];
    });
    if (!val("submitter.phone") && !val("submitter.email")) f["submitter.phone"] = [T.err_contact];
    if (!form.elements["consent.accepted"].checked) f["consent.accepted"] = [T.err_consent];
    var n = payload().notify;
    if (n && n.by === "email" && !val("submitter.email")) f["submitter.email"] = [T.err_notify_email];
    if (n && n.by === "sms" && !val("submitter.phone")) f["submitter.phone"] = [T.err_notify_phone];
    return f;
  }
  function nf(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, h.lang === "vi" ? "." : ","); }
  // ISO 8601 → dd/mm/yyyy in Vietnam time (UTC+7, no daylight saving), as the pages print it.
  function day(iso) {
    var t = Date.parse(iso), v;
    if (!isFinite(t)) return "";
    v = new Date(t + 7 * 3600000);
    return ("0" + v.getUTCDate()).slice(-2) + "/" + ("0" + (v.getUTCMonth() + 1)).slice(-2) + "/" + v.getUTCFullYear();
  }
  function success(code, due, earlier) {
    var tpl = $("#ok-tpl"), box = d.createElement("div"), note = d.createElement("p");
    box.appendChild(tpl.content.cloneNode(true));
    if (earlier) {
      note.className = "msg";
      note.textContent = T.ok_earlier;
      $("h1", box).after(note);
    }
    $("[data-code]", box).textContent = code;
    var link = $("[data-track]", box), qr = $("[data-qr]", box);
    link.href = link.getAttribute("href") + encodeURIComponent(code);
    qr.src = qr.getAttribute("data-qr") + encodeURIComponent(code);
    qr.alt = fmt(qr.getAttribute("data-alt"), { code: code });
    $("[data-due]", box).textContent = day(due);
    if (!due) $("#ok-due", box).hidden = true;
    $$("main > :not(template):not(.brand)").forEach(function (el) { el.hidden = true; });
    // Sent: the browser must not bring the text back when the reader returns to this page
    // (Back after the lookup link reloads it, with a fresh token): one press would send it twice.
    form.reset();
    $("main").appendChild(box);
    chosen.forEach(function (c) { if (c.u) URL.revokeObjectURL(c.u); });
    copyButton(box);
    focus($("h1", box), 1);
    size();
    tell({ type: "submitted", code: code });
  }
  function copyButton(root) {
    var b = $("[data-copy]", root);
    if (!b) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      var said = $("[data-copied]", root), code = $("[data-code]", root);
      // A frame on a news site may not be allowed the clipboard API: select the code and
      // copy it the older way, and if even that is refused, say how to copy it by hand.
      var fallback = function () {
        var r = d.createRange(), ok = false;
        r.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(r);
        try { ok = d.execCommand("copy"); } catch (e) {}
        said.textContent = ok ? T.ok_copied : T.ok_copy_select;
      };
      if (!navigator.clipboard) return fallback();
      navigator.clipboard.writeText(code.textContent.trim()).then(function () { said.textContent = T.ok_copied; }, fallback);
    });
  }
  function refreshToken() {
    // An expired token should not cost the citizen their draft: fetch a fresh one.
    return fetch(location.pathname + location.search, { credentials: "omit" }).then(function (r) { return r.text(); }).then(function (html) {
      var t = new DOMParser().parseFromString(html, "text/html").querySelector("input[name=form_token]");
      if (!t) throw new Error("no token");
      form.elements.form_token.value = t.value;
    });
  }

  /* Attachments: checked here first (type, size, count) so a wrong file costs no upload;
     the relay checks again by content. Thumbnails are blob: URLs, never uploaded before send. */
  var fin = $("#f-files"), chosen = [], fst = $("#s-files");
  function kb(n) { return n < 1048576 ? Math.ceil(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB"; }
  function drawFiles() {
    var ul = $("#l-files");
    ul.textContent = "";
    ul.hidden = !chosen.length;
    chosen.forEach(function (c, i) {
      var li = d.createElement("li"), pv, nm = d.createElement("span"), b = d.createElement("button");
      if (/^image\//.test(c.t)) {
        pv = d.createElement("img");
        pv.src = c.u || (c.u = URL.createObjectURL(c.f));
        pv.alt = "";
      } else {
        pv = d.createElement("span");
        pv.textContent = "PDF";
        pv.setAttribute("aria-hidden", "true");
      }
      pv.className = "pv";
      nm.className = "fn";
      nm.textContent = c.f.name + " (" + kb(c.f.size) + ")";
      b.type = "button";
      b.className = "btn sec";
      b.textContent = T.remove;
      b.setAttribute("aria-label", fmt(T.file_remove, { name: c.f.name }));
      b.addEventListener("click", function () {
        if (c.u) URL.revokeObjectURL(c.u);
        chosen.splice(i, 1);
        drawFiles();
        fst.textContent = fmt(T.file_removed, { name: c.f.name });
        focus($$("#l-files button")[i] || $$("#l-files button").pop() || fin);
        size();
      });
      li.appendChild(pv);
      li.appendChild(nm);
      li.appendChild(b);
      ul.appendChild(li);
    });
    size();
  }
  function addFiles() {
    var errs = [], added = [], max = +fin.getAttribute("data-max"), most = +fin.getAttribute("data-bytes");
    Array.prototype.forEach.call(fin.files, function (f) {
      // Some systems give no type for .webp or .pdf: judge those by the name.
      var o = { name: f.name }, t = f.type || { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", pdf: "application/pdf" }[f.name.split(".").pop().toLowerCase()];
      if (!/^(image\/(jpeg|png|webp)|application\/pdf)$/.test(t)) errs.push(fmt(T.file_type, o));
      else if (f.size > most) errs.push(fmt(T.file_size, o));
      else if (chosen.length >= max) errs.push(fmt(T.file_count, o));
      else { chosen.push({ f: f, t: t }); added.push(f.name); }
    });
    // The list above is what gets sent; the input only picks.
    fin.value = "";
    drawFiles();
    if (errs.length) showErrors({ files: errs }, []);
    else if (!$("#e-files").hidden) clearErrors();
    if (added.length) fst.textContent = fmt(T.file_added, { name: added.join(", ") });
  }
  function upload(p, h) {
    return new Promise(function (ok, fail) {
      var x = new XMLHttpRequest(), fd = new FormData(), k, bar = $("#p-files"), pc = $("#pc-files");
      var prog = function (v) { bar.value = v; pc.textContent = v + " %"; };
      fd.append("submission", JSON.stringify(p));
      chosen.forEach(function (c) { fd.append("files", c.f, c.f.name); });
      x.open("POST", "/api/v1/submissions");
      h.Accept = "application/json";
      for (k in h) x.setRequestHeader(k, h[k]);
      $("#u-files").hidden = false;
      prog(0);
      x.upload.onprogress = function (e) { if (e.lengthComputable) prog(Math.floor(e.loaded * 100 / e.total)); };
      x.upload.onload = function () { prog(100); };
      x.onload = function () {
        var b = {};
        try { b = JSON.parse(x.responseText); } catch (e) {}
        ok({ status: x.status, body: b });
      };
      x.onerror = x.onabort = x.ontimeout = fail;
      x.send(fd);
    });
  }

  /* ALTCHA (sites that turn it on, or asked of a busy address): solved in the background from
     page load, so it is usually done before the reader presses Send; when the relay asks for
     it (an altcha-* problem) it is solved then, and a refused proof gets one fresh try. */
  var ach = form && form.getAttribute("data-altcha"), need = form && form.hasAttribute("data-altcha-now"), pow;
  function solver() {
    // Loaded with the page where proof is wanted from the start; else only when the relay asks.
    var src = form.getAttribute("data-altcha-js");
    if (window.PhanHoiAltcha || !src) return Promise.resolve();
    return new Promise(function (ok) {
      var s = d.createElement("script");
      s.src = src;
      s.onload = s.onerror = ok;
      d.head.appendChild(s);
    });
  }
  function solve() {
    pow = solver().then(function () {
      return window.PhanHoiAltcha ? window.PhanHoiAltcha.fetchAndSolve(ach) : Promise.reject(new Error("altcha"));
    });
    pow.catch(function () {});
    return pow;
  }
  function proof() {
    if (!ach || !need) return Promise.resolve(null);
    return (pow || solve()).catch(solve).catch(function () { return null; });
  }
  if (ach && need) solve();

  if (form) {
    form.noValidate = true;
    if (fin) fin.addEventListener("change", addFiles);
    var sending = false, retried = false, send = $("#send"), lost = [];
    var ta = form.elements.content, cnt = $("#c-content"), over = $("#o-content"), was = 0;
    // Over the limit: said at once, in a live region, and nothing is cut (the reader chooses what to drop).
    var count = function () {
      var n = len(ta.value, 1), max = +ta.getAttribute("data-max"), o = { n: nf(n), max: nf(max), over: nf(n - max) };
      cnt.textContent = fmt(cnt.getAttribute("data-fmt"), o);
      cnt.classList.toggle("bad", n > max);
      if ((n > max) !== (was > max) || (n > max && Math.abs(n - was) > 1)) over.textContent = n > max ? fmt(cnt.getAttribute("data-over"), o) : "";
      was = n;
    };
    ta.addEventListener("input", count);
    count();
    communes();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (sending) return;
      var errs = check();
      if (Object.keys(errs).length) return showErrors(errs, []);
      sending = true;
      retried = false;
      busy(send, true);
      var sent, go = function (again) {
        var p = again || payload(), h = { "X-Form-Token": form.elements.form_token.value, "X-Site-Key": form.getAttribute("data-site") };
        sent = p;
        return proof().then(function (a) {
          if (a && !again) p.altcha = a;
          return chosen.length ? upload(p, h) : api("POST", "/api/v1/submissions", p, h, 60000);
        });
      };
      go().then(function (res) {
        var s = slug(res.body);
        if (!retried && res.status >= 400 && res.status < 500 && (s === "form-token-expired" || /^altcha-/.test(s))) {
          retried = true;
          if (s !== "form-token-expired") need = true;
          // A fresh token is only as old as this retry: the relay refuses one sent within its
          // fill time (data-fill seconds) as a robot's, so wait that long with it before sending.
          return (s === "form-token-expired" ? refreshToken().then(function () {
            return new Promise(function (ok) { setTimeout(ok, 1000 * form.getAttribute("data-fill")); });
          }) : solve().catch(function () {})).then(function () { return go(); });
        }
        return res;
      }).then(function (res) {
        /* A Send whose answer was lost on the way back (a dropped connection) may have been
           stored: then the relay refuses other text under this form's token, its idempotency key.
           Send again exactly what went then (the newest first): the relay answers with that
           receipt, nothing is stored twice, and the reader is told their later edits are not in it. */
        var again = function (i) {
          return go(lost[i]).then(function (r) {
            if (slug(r.body) === "idempotency-key-reused" && i) return again(i - 1);
            r.earlier = 1;
            return r;
          });
        };
        return lost.length && slug(res.body) === "idempotency-key-reused" ? again(lost.length - 1) : res;
      }).then(function (res) {
        if (res.status === 201 || res.status === 200) return success(res.body.tracking_code, res.body.deadline, res.earlier);
        if (res.body && res.body.errors) return serverErrors(res.body.errors, slug(res.body));
        showErrors({}, [problem(res)]);
      }, function () {
        lost.push(sent);
        showErrors({}, [T.err_network]);
      }).then(function () {
        sending = false;
        busy(send, false);
      });
    });
    var geo = $("#geo"), gs = $("#geo-s");
    if (navigator.geolocation) {
      geo.hidden = false;
      geo.addEventListener("click", function () {
        gs.textContent = T.geo_wait;
        navigator.geolocation.getCurrentPosition(function (p) {
          var lat = p.coords.latitude.toFixed(6), lon = p.coords.longitude.toFixed(6);
          form.elements["location.lat"].value = lat;
          form.elements["location.lon"].value = lon;
          gs.textContent = fmt(T.geo_ok, { lat: lat, lon: lon });
        }, function () { gs.textContent = T.geo_err; }, { timeout: 15000, maximumAge: 60000 });
      });
    }
  }
  copyButton(d);

  /* Communes: a filter over the select, which works alone without JavaScript. Typed with or
     without diacritics ("hac thanh" finds "Hạc Thành"): both sides folded as intake/text.fold does. */
  function fold(s) { return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d"); }
  function communes() {
    var q = $("#q-commune"), sel = $("#f-location-commune_code");
    if (!q || !sel || !"".normalize) return;
    var st = $("#s-commune"), first = sel.options[0], all = $$("option", sel).slice(1), timer;
    all.forEach(function (o) { o.k = fold(o.textContent); });
    q.parentNode.hidden = false;
    q.addEventListener("keydown", function (e) {
      // An IME composing (macOS Telex, Gboard, CJK) takes Enter to accept a word, Escape to drop it.
      if (e.isComposing) return;
      // Enter takes the reader to the (filtered) list instead of sending the form.
      if (e.key === "Enter") { e.preventDefault(); sel.focus(); }
      // Escape with text in the field only clears it (and the filter); the dialog stays open.
      // Handled first, here: the document's listener then sees it done and asks nothing.
      else if (e.key === "Escape" && q.value) {
        e.preventDefault();
        q.value = "";
        q.dispatchEvent(new Event("input"));
      }
    });
    q.addEventListener("input", function () {
      var words = fold(q.value).split(/\s+/).filter(Boolean), hits = all.filter(function (o) {
        return words.every(function (w) { return o.k.indexOf(w) >= 0; });
      });
      sel.textContent = "";
      sel.appendChild(first);
      hits.forEach(function (o) { sel.appendChild(o); });
      if (hits.length === 1) hits[0].selected = true;
      else if (hits.indexOf(sel.options[sel.selectedIndex]) < 0) first.selected = true;
      // Said once typing pauses, not at every letter.
      clearTimeout(timer);
      timer = setTimeout(function () {
        st.textContent = hits.length === 1 ? fmt(q.getAttribute("data-one"), { name: hits[0].textContent })
          : fmt(q.getAttribute(hits.length ? "data-found" : "data-none"), { n: hits.length });
      }, 300);
    });
  }

  /* ---------------- status lookup ---------------- */
  var tf = $("#ph-track");
  function wireSide() {
    $$("form.side").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        var out = $(".side-s", f), btn = $("button[type=submit]", f), body = { contact: f.elements.contact.value }, url;
        if (f.getAttribute("data-api") === "rating") {
          var s = $("input[name=satisfied]:checked", f);
          if (!s) { out.textContent = T.err_choose; return; }
          body.satisfied = s.value === "1";
          body.comment = f.elements.comment.value.trim() || null;
          var cm = f.elements.comment, hi = +cm.getAttribute("data-max"), n = len(cm.value, 1);
          if (n > hi) { out.textContent = fmt(T.err_long, { max: nf(hi), n: nf(n) }); return; }
        } else {
          var k = $("input[name=kind]:checked", f);
          if (!k) { out.textContent = T.err_choose; return; }
          body.kind = k.value;
        }
        url = "/api/v1/submissions/" + encodeURIComponent(f.getAttribute("data-code")) + "/" + f.getAttribute("data-api");
        /* A press whose answer was lost (a dropped connection) may have reached the relay: the
           same request again carries the same Idempotency-Key (what was asked, never the contact),
           so it is answered as the first was and the central system is told once. */
        var done = false, what = JSON.stringify([body.kind, body.satisfied, body.comment]), key = 5381, i;
        for (i = 0; i < what.length; i++) key = (key * 33 ^ what.charCodeAt(i)) >>> 0;
        busy(btn, true);
        api("POST", url, body, { "Idempotency-Key": "form-" + key.toString(36) }).then(function (res) {
          if (res.status < 300) {
            done = true;
            out.textContent = f.getAttribute("data-api") === "rating" ? T.rate_thanks : body.kind === "withdraw_notify" ? T.notify_withdrawn : res.body && res.body.forward_cancelled ? T.data_cancelled : T.data_ok;
            $$("input,textarea,button", f).forEach(function (el) { el.disabled = true; });
            // The button that had focus is now disabled: keep keyboard users at the answer.
            out.tabIndex = -1;
            focus(out);
          } else out.textContent = res.body && res.body.errors && !F ? [].concat.apply([], Object.keys(res.body.errors).map(function (k) { return res.body.errors[k]; })).join(" ") : problem(res);
        }, function () { out.textContent = T.err_network; }).then(function () {
          busy(btn, false);
          btn.disabled = done;
          size();
        });
      });
    });
  }
  if (tf) {
    wireSide();
    tf.addEventListener("submit", function (e) {
      e.preventDefault();
      var btn = $("button[type=submit]", tf);
      busy(btn, true);
      // The server renders the result (the same markup works without JavaScript); swap it in.
      fetch(tf.action, { method: "POST", body: new URLSearchParams(new FormData(tf)), credentials: "omit" })
        .then(function (r) {
          if (r.status === 429 || r.status >= 500) throw new Error(r.status === 429 ? T.err_rate : T.err_server);
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html"), kq = $("#kq"), nk = doc.getElementById("kq");
          if (!nk) throw new Error("no result");
          kq.replaceWith(d.importNode(nk, true));
          wireSide();
          focus($("#kq [tabindex='-1']"));
          size();
        })
        .catch(function (err) {
          var kq = $("#kq");
          kq.textContent = "";
          var p = d.createElement("p");
          p.className = "msg bad";
          p.setAttribute("role", "alert");
          p.textContent = err && (err.message === T.err_rate || err.message === T.err_server) ? err.message : T.err_lookup_network;
          p.tabIndex = -1;
          kq.appendChild(p);
          focus(p);
        })
        .then(function () { busy(btn, false); });
    });
  }
  size();
  tell({ type: "ready" });
})();
