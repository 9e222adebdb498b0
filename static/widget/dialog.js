/*! Phản hồi widget dialog · MIT */
/* The dialog with the relay's form or lookup in a frame, and the inline form. Loaded by
 * loader.js only on intent (the reader points at, focuses or clicks the banner) or for the
 * inline variant, as `dialog.<hash>.js` with its integrity hash (build.mjs puts both into the
 * loader). It hands itself to the loader through the <script> element that loaded it:
 * `script.phanhoi.attach(api)`, so there is no global to tamper with.
 *
 * Same host-page caveats as loader.js: index loops and `list[list.length] = item`, no JSON,
 * lookups in objects without a prototype. */
import dialogCss from "./dialog.css";

const TEXTS = {
  vi: {
    close: "Đóng",
    loading: "Đang tải…",
    unavailable: "Hiện chưa kết nối được. Vui lòng thử lại sau.",
    fullPage: "Mở ở trang riêng",
    form: "Gửi phản ánh, kiến nghị",
    track: "Tra cứu phản ánh, kiến nghị",
    results: "Kết quả giải quyết phản ánh, kiến nghị",
    scoreboard: "Cơ quan trả lời đúng hạn",
  },
  en: {
    close: "Close",
    loading: "Loading…",
    unavailable: "We cannot connect right now. Please try again later.",
    fullPage: "Open it on its own page",
    form: "Send feedback",
    track: "Look up your feedback",
    results: "Answers to citizens' feedback",
    scoreboard: "Agencies answering on time",
  },
};
// results and scoreboard: the public record in a slot (data-variant), framed like the form.
const PAGES = ["form", "track", "results", "scoreboard"];
// The relay answered nothing that says the framed page works: say so instead of a blank frame.
const FRAME_TIMEOUT_MS = 10000;
// A frame that loaded but never said "ready" was refused (frame-ancestors: the page's origin is
// not registered for the site) or broke; its "ready" message comes before its load event.
const READY_AFTER_LOAD_MS = 1000;

function createDialog(context) {
  const { shadow, element, relayOrigin, siteKey, lang, emit, fullPageUrl, warn } = context;
  const text = TEXTS[lang];
  const frames = Object.create(null);
  const frameHeights = Object.create(null);
  context.sheet()(dialogCss);
  const setFrameRules = context.sheet();
  let dialog, dialogTitle, statusMessage, currentPage, opener;

  // The article the reader came from, kept with the submission: origin and path only (a query
  // string can carry e-mail addresses or tokens), and nothing when the page's referrer policy
  // sends nothing cross-origin. A policy set by HTTP header is invisible here; the relay drops
  // `u` when the frame's request came without a Referer.
  function sourceUrl() {
    const metas = document.querySelectorAll("meta[name='referrer' i]");
    const policy = metas.length ? String(metas[metas.length - 1].content).split(",").pop() : "";
    if (/^\s*(no-referrer|same-origin)\s*$/i.test(policy)) return "";
    return `&u=${encodeURIComponent((location.origin + location.pathname).slice(0, 500))}`;
  }

  function pageUrl(page, extra) {
    // siteKey is checked by the loader (/^[\w-]{1,64}$/): nothing to encode.
    return `${relayOrigin}/w/${siteKey}/${page}?lang=${lang}` +
      `&origin=${encodeURIComponent(location.origin)}` + sourceUrl() + extra;
  }

  // Frames grow to their page's height, told by the page itself ("resize" messages).
  function applyFrameHeights() {
    let rules = "";
    for (let i = 0; i < PAGES.length; i++) {
      const page = PAGES[i];
      if (frameHeights[page]) rules += `iframe.frame-${page}{height:${frameHeights[page]}px}`;
    }
    setFrameRules(rules);
  }

  function addFrame(page, parent, extra, code) {
    const frame = element(parent, "iframe", `frame-${page}`);
    frame.code = code;
    frame.title = text[page];
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
    dialogTitle = element(header, "h2", "", text.form);
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

  // The frame did not come up: say so, offer the same page outside a frame, and tell the
  // site's developers the likely reason in the console. From here a refused frame and a
  // failed one look alike: both load (an error page) without saying "ready".
  function showFailure(page, loaded) {
    const frame = frames[page];
    if (frame.ready || frame.failed) return;
    frame.failed = true;
    frame.hidden = true;
    statusMessage.hidden = false;
    statusMessage.textContent = text.unavailable;
    element(statusMessage, "br");
    const link = element(statusMessage, "a", "", text.fullPage);
    link.href = fullPageUrl(page, frame.code);
    link.target = "_blank";
    link.rel = "noopener";
    if (loaded) {
      warn(`${page} frame refused? Register ${location.origin}: phanhoi-widget sites set ${siteKey} --origin …`);
    }
  }

  // page: "form" or "track" (the loader and the message handler below pass nothing else).
  function open(page, code) {
    // Inline variant: the form is already on the page; take the reader there.
    if (page === "form" && frames.form && frames.form.parentNode !== dialog) return frames.form.focus();
    ensureDialog();
    const extra = page === "track" && code ? `&code=${encodeURIComponent(code)}` : "";
    if (!frames[page] || (extra && frames[page].src.indexOf(extra) < 0)) {
      if (frames[page]) dialog.removeChild(frames[page]);
      const frame = addFrame(page, dialog, extra, code);
      frame.hidden = true;
      statusMessage.hidden = false;
      statusMessage.textContent = text.loading;
      frame.addEventListener("load", () => {
        setTimeout(() => { if (frames[page] === frame) showFailure(page, true); }, READY_AFTER_LOAD_MS);
      });
      setTimeout(() => { if (frames[page] === frame) showFailure(page, false); }, FRAME_TIMEOUT_MS);
    }
    for (let i = 0; i < PAGES.length; i++) {
      const frame = frames[PAGES[i]];
      if (frame && frame.parentNode === dialog) frame.hidden = PAGES[i] !== page || !frame.ready;
    }
    currentPage = page;
    dialogTitle.textContent = text[page];
    if (!dialog.open) {
      opener = shadow.activeElement || document.activeElement || opener;
      dialog.showModal();
    }
    if (frames[page].ready) frames[page].focus();
  }

  // close() on a closed dialog does nothing (no "close" event).
  function close() {
    if (dialog) dialog.close();
  }

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
        if (page === currentPage && !frame.failed) {
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

  return {
    open,
    close,
    inline(box) { addFrame("form", box, "&inline=1"); },
    embed(page, box) { addFrame(page, box, ""); },
  };
}

try {
  const script = document.currentScript;
  if (script && script.phanhoi) script.phanhoi.attach(createDialog(script.phanhoi));
} catch {
  // Never throw into the host page.
}
