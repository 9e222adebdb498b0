/*! Phản hồi widget loader · MIT */
/* Banner + dialog. Budget: ≤ 4 KB gzip as served (bench/widget_size.py); built by build.mjs.
 * Embed: <script async src="RELAY/static/widget/loader.js" data-site="KEY"></script>
 * No dependencies, no network before the banner paints, no cookies or storage,
 * never throws into the host page. The form itself lives in an iframe on the
 * relay's origin so host-page scripts cannot read what a citizen types.
 *
 * The host page is not ours and may be hostile: it can replace Array.prototype.push,
 * JSON.stringify, Array iterators or add enumerable properties to Object.prototype. So this
 * file appends with `list[list.length] = item`, walks arrays with index loops (no for…of,
 * spread or destructuring, which run the page's iterator), sends structured-clone messages
 * (no JSON), and keeps its lookups in objects without a prototype. */
import bannerCss from "./banner.css";

const TEXTS = {
  vi: {
    title: "Phản ánh, kiến nghị với chính quyền",
    subtitle: "Nhận mã để theo dõi kết quả xử lý.",
    send: "Gửi phản ánh",
    floatingButton: "Phản ánh, kiến nghị",
    lookUp: "Tra cứu",
    close: "Đóng",
    loading: "Đang tải…",
    unavailable: "Hiện chưa kết nối được. Vui lòng thử lại sau.",
    formTitle: "Gửi phản ánh, kiến nghị",
    lookupTitle: "Tra cứu phản ánh, kiến nghị",
  },
  en: {
    title: "Feedback to the local government",
    subtitle: "Get a code to follow up the answer.",
    send: "Send feedback",
    floatingButton: "Feedback",
    lookUp: "Look up",
    close: "Close",
    loading: "Loading…",
    unavailable: "We cannot connect right now. Please try again later.",
    formTitle: "Send feedback",
    lookupTitle: "Look up your feedback",
  },
};
const PAGES = ["form", "track"];
const COLOUR = /^#[0-9a-f]{3,8}$/i;
// The relay answered nothing that says the framed page works: say so instead of a blank frame.
const FRAME_TIMEOUT_MS = 10000;

function element(parent, tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

/* One stylesheet of the shadow root. Constructable stylesheets need Chrome 73, Firefox 101,
 * Safari 16.4; elsewhere a <style> element in the shadow root carries the same rules (it falls
 * under the host's style-src, hence the loader's nonce on it). */
function shadowSheet(root, nonce, adopted) {
  const constructable = typeof CSSStyleSheet === "function" &&
    typeof CSSStyleSheet.prototype.replaceSync === "function" &&
    "adoptedStyleSheets" in ShadowRoot.prototype;
  if (constructable) {
    const sheet = new CSSStyleSheet();
    adopted[adopted.length] = sheet;
    root.adoptedStyleSheets = adopted;
    return (css) => sheet.replaceSync(css);
  }
  const style = element(root, "style");
  if (nonce) style.nonce = nonce;
  return (css) => { style.textContent = css; };
}

function start() {
  const previous = window.PhanHoi;
  // Loaded twice: the first copy keeps working, the second does nothing.
  if (previous && previous.v) return;
  const script = document.currentScript ||
    document.querySelector("script[data-site][src*='/static/widget/loader']");
  if (!script) return;
  const options = script.dataset;
  const siteKey = options.site || "";
  if (!/^[\w-]{1,64}$/.test(siteKey)) return;
  const relayOrigin = new URL(script.src, location.href).origin;
  const lang = String(options.lang || document.documentElement.lang || "vi").slice(0, 2).toLowerCase() === "en"
    ? "en" : "vi";
  const text = TEXTS[lang];
  // Reach (README.md, "Reach"): the channel this page counts under; a slug, else "web".
  const channel = /^[a-z0-9][a-z0-9-]{0,31}$/.test(options.channel || "") ? options.channel : "web";
  const handlers = { submitted: [], closed: [] };
  const frames = Object.create(null);
  const frameHeights = Object.create(null);
  let pending = [];
  let shadow, dialog, dialogTitle, statusMessage, setFrameHeightRules, currentPage, opener;
  let currentReady = false;

  function emit(name, detail) {
    const list = handlers[name];
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](detail);
      } catch (error) {
        // A host handler's error stays the host's problem, reported without breaking us.
        setTimeout(() => { throw error; });
      }
    }
  }

  // One beacon per event: no cookie, no storage, no identifier; the relay keeps counters only.
  function beacon(event) {
    try {
      // siteKey is checked against /^[\w-]{1,64}$/ above: nothing to encode.
      navigator.sendBeacon(`${relayOrigin}/api/v1/sites/${siteKey}/beacon`,
        `{"e":"${event}","ch":"${channel}"}`);
    } catch {
      // No beacon is worth an error in the host page.
    }
  }

  /* A viewable impression (IAB): at least half of the banner in view for one continuous second,
   * on a visible tab. Observed only after it painted; counted once per page view. */
  function countImpression(target) {
    if (!window.IntersectionObserver) return;
    let timer;
    const observer = new IntersectionObserver((entries) => {
      clearTimeout(timer);
      if (entries[entries.length - 1].intersectionRatio >= 0.5) {
        timer = setTimeout(() => {
          if (document.hidden) return;
          observer.disconnect();
          beacon("impression");
        }, 1000);
      }
    }, { threshold: 0.5 });
    observer.observe(target);
  }

  function pageUrl(page, extra = "") {
    return `${relayOrigin}/w/${encodeURIComponent(siteKey)}/${page}?lang=${lang}` +
      `&origin=${encodeURIComponent(location.origin)}` +
      `&u=${encodeURIComponent(String(location.href).split("#")[0].slice(0, 500))}` + extra;
  }

  // Frames grow to their page's height, told by the page itself ("resize" messages).
  function applyFrameHeights() {
    let rules = "";
    for (let i = 0; i < PAGES.length; i++) {
      const page = PAGES[i];
      if (frameHeights[page]) rules += `iframe.frame-${page}{height:${frameHeights[page]}px}`;
    }
    setFrameHeightRules(rules);
  }

  function addFrame(page, parent, extra) {
    const frame = element(parent, "iframe", `frame-${page}`);
    frame.title = page === "track" ? text.lookupTitle : text.formTitle;
    frame.setAttribute("allow", "geolocation; clipboard-write");
    frame.src = pageUrl(page, extra);
    frames[page] = frame;
    return frame;
  }

  function ensureDialog() {
    if (dialog) return;
    dialog = element(shadow, "dialog");
    dialog.setAttribute("aria-labelledby", "phanhoi-dialog-title");
    const header = element(dialog, "div", "dialog-header");
    dialogTitle = element(header, "h2", "", text.formTitle);
    dialogTitle.id = "phanhoi-dialog-title";
    const closeButton = element(header, "button", "secondary", text.close);
    closeButton.type = "button";
    closeButton.addEventListener("click", close);
    statusMessage = element(dialog, "p", "dialog-status", text.loading);
    statusMessage.setAttribute("role", "status");
    dialog.addEventListener("close", () => {
      try {
        if (opener && opener.focus) opener.focus();
      } catch {
        // The element that opened the dialog may be gone; focus then stays where the browser puts it.
      }
      emit("closed", {});
    });
  }

  function open(requested, code) {
    if (!shadow) return;
    const page = requested === "track" ? "track" : "form";
    // Inline variant: the form is already on the page; take the reader there.
    if (page === "form" && frames.form && frames.form.parentNode !== dialog) return frames.form.focus();
    ensureDialog();
    if (!dialog.open || page !== currentPage) beacon(page === "track" ? "results_view" : "open");
    const extra = page === "track" && code ? `&code=${encodeURIComponent(code)}` : "";
    if (!frames[page] || (extra && frames[page].src.indexOf(extra) < 0)) {
      if (frames[page]) dialog.removeChild(frames[page]);
      addFrame(page, dialog, extra).hidden = true;
      currentReady = false;
      statusMessage.hidden = false;
      statusMessage.textContent = text.loading;
      setTimeout(() => {
        if (!currentReady) {
          frames[page].hidden = true;
          statusMessage.textContent = text.unavailable;
        }
      }, FRAME_TIMEOUT_MS);
    }
    for (let i = 0; i < PAGES.length; i++) {
      const other = PAGES[i];
      const frame = frames[other];
      if (frame && frame.parentNode === dialog) frame.hidden = other !== page || !frame.ready;
    }
    currentPage = page;
    dialogTitle.textContent = page === "track" ? text.lookupTitle : text.formTitle;
    if (!dialog.open) {
      opener = shadow.activeElement || document.activeElement || opener;
      dialog.showModal();
    }
    if (frames[page].ready) frames[page].focus();
  }

  function close() {
    if (dialog && dialog.open) dialog.close();
  }

  function run(args) {
    try {
      const command = args[0], argument = args[1], handler = args[2];
      if (command === "open") open("form");
      else if (command === "track") open("track", argument);
      else if (command === "close") close();
      else if (command === "on" && handlers[argument] && typeof handler === "function") {
        const list = handlers[argument];
        list[list.length] = handler;
      }
    } catch {
      // A bad call from the host page is ignored rather than thrown back into it.
    }
  }

  function api(...args) {
    if (shadow) run(args);
    else pending[pending.length] = args;
  }
  api.v = 1;
  api.q = [];
  // Calls queued by the stub before this file arrived (see README.md, "JavaScript API").
  if (previous && previous.q) {
    for (let i = 0; i < previous.q.length; i++) pending[pending.length] = previous.q[i];
  }
  window.PhanHoi = api;

  window.addEventListener("message", (event) => {
    try {
      const message = event.data;
      if (event.origin !== relayOrigin || !message || message.ph !== 1) return;
      let page;
      for (let i = 0; i < PAGES.length; i++) {
        if (frames[PAGES[i]] && frames[PAGES[i]].contentWindow === event.source) page = PAGES[i];
      }
      if (!page) return;
      const frame = frames[page];
      if (message.type === "ready" && !frame.ready) {
        frame.ready = true;
        if (page === currentPage) {
          currentReady = true;
          statusMessage.hidden = true;
          frame.hidden = false;
          if (dialog.open) frame.focus();
        }
      } else if (message.type === "resize" && message.height > 0) {
        frameHeights[page] = Math.min(Math.ceil(+message.height), 20000);
        applyFrameHeights();
      } else if (message.type === "close") {
        close();
      } else if (message.type === "track") {
        // "Look up" on the success screen: the lookup opens in its own view; the form stays a form.
        event.source.postMessage({ ph: 1, type: "ack" }, relayOrigin);
        open("track", String(message.code || ""));
      } else if (message.type === "submitted") {
        emit("submitted", { tracking_code: String(message.code || "") });
      }
    } catch {
      // Messages are untrusted input; a malformed one is dropped.
    }
  });

  function paint() {
    const slot = document.querySelector("[data-phanhoi-slot]");
    const variant = options.variant || (slot && slot.getAttribute("data-variant")) || "banner";
    const host = document.createElement("phanhoi-widget");
    host.setAttribute("data-site", siteKey);
    shadow = host.attachShadow({ mode: "open" });
    const nonce = script.nonce || "";
    // Theme via data attributes; only plain colour values get through.
    let theme = "";
    if (COLOUR.test(options.accent || "")) theme += `--accent:${options.accent};`;
    if (COLOUR.test(options.bg || "")) theme += `--background:${options.bg};`;
    if (COLOUR.test(options.fg || "")) theme += `--foreground:${options.fg};`;
    const adopted = [];
    shadowSheet(shadow, nonce, adopted)(bannerCss + (theme ? `:host{${theme}}` : ""));
    setFrameHeightRules = shadowSheet(shadow, nonce, adopted);

    let seen;
    if (variant === "inline" && slot) {
      const box = seen = element(shadow, "div", "inline");
      addFrame("form", box, "&inline=1").addEventListener("load", () => { currentReady = true; });
    } else if (variant === "button") {
      const box = element(shadow, "div", slot ? "in-slot" : "");
      const button = seen = element(box, "button", "floating-button", text.floatingButton);
      button.type = "button";
      button.addEventListener("click", () => open("form"));
    } else {
      const banner = seen = element(shadow, "section", "banner");
      banner.setAttribute("aria-label", text.title);
      const words = element(banner, "div", "banner-text");
      element(words, "h2", "", text.title);
      element(words, "p", "", text.subtitle);
      const actions = element(banner, "div", "banner-actions");
      const send = element(actions, "button", "", text.send);
      send.type = "button";
      send.addEventListener("click", () => open("form"));
      const lookUp = element(actions, "button", "secondary", text.lookUp);
      lookUp.type = "button";
      lookUp.addEventListener("click", () => open("track"));
    }
    if (slot) {
      slot.textContent = "";
      slot.appendChild(host);
    } else {
      // No slot: an in-flow spacer at the end of the page holds a fixed bar,
      // so the bar never covers the last lines of the page's content.
      host.setAttribute("data-layout", "bar");
      document.body.appendChild(host);
    }
    countImpression(seen);
    for (let i = 0; i < pending.length; i++) run(pending[i]);
    pending = [];
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => {
      try {
        paint();
      } catch {
        // Nothing shows rather than an error in the host page's console.
      }
    });
  } else {
    paint();
  }
}

try {
  start();
} catch {
  // Never throw into the host page.
}
