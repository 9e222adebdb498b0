/*! Phản hồi widget loader · MIT */
/* The banner. Budget: ≤ 4 KB gzip as served (bench/widget_size.py); built by build.mjs.
 * Embed: <script async src="RELAY/static/widget/loader.js" data-site="KEY"></script>
 * No dependencies, no network before the banner paints, no cookies or storage,
 * never throws into the host page. The form itself lives in an iframe on the
 * relay's origin so host-page scripts cannot read what a citizen types; the dialog that
 * holds it (dialog.js) is fetched only when the reader shows intent.
 *
 * The host page is not ours and may be hostile: it can replace Array.prototype.push,
 * JSON.stringify, Array iterators or add enumerable properties to Object.prototype. So this
 * file appends with `list[list.length] = item`, walks arrays with index loops (no for…of,
 * spread or destructuring of arrays, which run the page's iterator), sends structured-clone
 * messages (no JSON), and keeps its lookups in objects without a prototype. */
import bannerCss from "./banner.css";

/* global DIALOG_FILE, DIALOG_INTEGRITY -- set by build.mjs: dialog.<hash>.js and its SRI hash */

const TEXTS = {
  vi: {
    title: "Phản ánh, kiến nghị với chính quyền",
    subtitle: "Nhận mã để theo dõi kết quả xử lý.",
    send: "Gửi phản ánh",
    floatingButton: "Phản ánh, kiến nghị",
    lookUp: "Tra cứu",
    hide: "Ẩn biểu ngữ phản ánh",
  },
  en: {
    title: "Feedback to the local government",
    subtitle: "Get a code to follow up the answer.",
    send: "Send feedback",
    floatingButton: "Feedback",
    lookUp: "Look up",
    hide: "Hide the feedback banner",
  },
};
const COLOUR = /^#[0-9a-f]{3,8}$/i;

// For the site's developers: what is wrong with the embed (never thrown, never shown).
function warn(message) {
  try {
    console.warn(`Phản hồi widget: ${message}`);
  } catch {
    // A page that broke console is left alone.
  }
}

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
  // Every browser of the baseline that has adoptedStyleSheets can construct and replace sheets.
  if ("adoptedStyleSheets" in ShadowRoot.prototype) {
    const sheet = new CSSStyleSheet();
    adopted[adopted.length] = sheet;
    root.adoptedStyleSheets = adopted;
    return (css) => sheet.replaceSync(css);
  }
  const style = element(root, "style");
  style.nonce = nonce;
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
  if (!/^[\w-]{1,64}$/.test(siteKey)) {
    // A missing or misspelt attribute (data-site-key, data-sitekey) shows nothing: say why.
    warn("data-site is missing on its <script>");
    return;
  }
  const relayOrigin = new URL(script.src, location.href).origin;
  const lang = String(options.lang || document.documentElement.lang || "vi").slice(0, 2).toLowerCase() === "en"
    ? "en" : "vi";
  const text = TEXTS[lang];
  const nonce = script.nonce || "";
  // Reach (README.md, "Reach"): the channel this page counts under; a slug, else "web".
  const channel = /^[a-z0-9][a-z0-9-]{0,31}$/.test(options.channel || "") ? options.channel : "web";
  const handlers = { submitted: [], closed: [] };
  const adopted = [];
  let pending = [];
  // dialogLoads: undefined before the first try, then whether dialog.js is on its way.
  let shadow, host, setDockRule, barElement, dockedElement, dialog, dialogLoads;
  let dockOffset = 0;
  const dialogWaiters = [];

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

  /* dialog.js, fetched once, with the integrity hash of the build that made this loader.
   * False when it cannot come: a page that enforces Trusted Types (require-trusted-types-for
   * 'script') refuses a plain script URL unless its default policy lets this one through
   * (README.md); withDialog then opens the same page on its own in a new tab instead. */
  function loadDialog() {
    if (dialogLoads === undefined) {
      dialogLoads = true;
      const src = `${relayOrigin}/static/widget/${DIALOG_FILE}`;
      try {
        const tag = element(null, "script");
        tag.src = src;
        tag.integrity = DIALOG_INTEGRITY;
        tag.crossOrigin = "anonymous";
        tag.nonce = nonce;
        tag.phanhoi = {
          shadow, element, relayOrigin, siteKey, lang, emit, fullPageUrl, warn,
          sheet: () => shadowSheet(shadow, nonce, adopted),
          attach(api) {
            dialog = api;
            for (let i = 0; i < dialogWaiters.length; i++) dialogWaiters[i](api);
            dialogWaiters.length = 0;
          },
        };
        document.head.appendChild(tag);
      } catch {
        dialogLoads = false;
      }
    }
    return dialogLoads;
  }

  // The form or the lookup (with the code it was asked for) on a page of its own: the dialog's
  // link when its frame fails, and where the banner's buttons go (a new tab) when the dialog
  // itself cannot load.
  function fullPageUrl(page, code) {
    return `${relayOrigin}/${page === "track" ? "w/" + siteKey + "/track" : "s/" + siteKey}?lang=${lang}` +
      (code ? "&code=" + encodeURIComponent(code) : "");
  }

  function withDialog(action, page, code) {
    if (dialog) return action(dialog);
    if (loadDialog()) dialogWaiters[dialogWaiters.length] = action;
    else if (page) window.open(fullPageUrl(page, code), "_blank", "noopener");
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

  function run(args) {
    try {
      const command = args[0], argument = args[1], handler = args[2];
      if (command === "open") {
        beacon("open");
        withDialog((api) => api.open("form"), "form");
      } else if (command === "track") {
        beacon("results_view");
        withDialog((api) => api.open("track", argument), "track", argument);
      }
      else if (command === "close" && dialog) dialog.close();
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

  function button(parent, className, label, action) {
    const node = element(parent, "button", className, label);
    node.type = "button";
    node.addEventListener("click", action);
    return node;
  }

  // The top of UI the host page pins along the window's bottom edge (a cookie notice, a
  // player), or 0 when that edge is free. Our own element is skipped.
  function hostBottomUiTop() {
    const y = innerHeight - 2;
    let top = innerHeight;
    for (let i = 0; i < 3; i++) {
      const stack = document.elementsFromPoint((innerWidth - 1) * i / 2, y);
      for (let j = 0; j < stack.length; j++) {
        const node = stack[j];
        if (node === host || node === document.body || node === document.documentElement) continue;
        const position = getComputedStyle(node).position;
        if (position === "fixed" || position === "sticky") top = Math.min(top, node.getBoundingClientRect().top);
      }
    }
    return top < innerHeight ? top : 0;
  }

  // Without a slot: the bar, unless the host pins its own UI to the window's bottom edge; then
  // the small button is docked above that UI instead of covering it.
  function placeWithoutSlot(variant) {
    if (host.hasAttribute("data-dismissed")) return;
    const taken = hostBottomUiTop();
    const docked = variant === "button" || taken > 0;
    host.setAttribute("data-layout", docked ? "docked" : "bar");
    if (barElement) barElement.hidden = docked;
    dockedElement.hidden = !docked;
    const offset = taken ? Math.ceil(innerHeight - taken) : 0;
    if (offset !== dockOffset) {
      dockOffset = offset;
      setDockRule(`:host{--dock-offset:${offset}px}`);
    }
  }

  function paint() {
    const slot = document.querySelector("[data-phanhoi-slot]");
    const variant = options.variant || (slot && slot.getAttribute("data-variant")) || "banner";
    host = document.createElement("phanhoi-widget");
    host.setAttribute("data-site", siteKey);
    // Screen readers read the widget in its own language, whatever the page's (WCAG 3.1.2).
    host.setAttribute("lang", lang);
    shadow = host.attachShadow({ mode: "open" });
    // Theme via data attributes; only plain colour values get through.
    let theme = "";
    if (COLOUR.test(options.accent || "")) theme += `--accent:${options.accent};`;
    if (COLOUR.test(options.bg || "")) theme += `--background:${options.bg};`;
    if (COLOUR.test(options.fg || "")) theme += `--foreground:${options.fg};`;
    shadowSheet(shadow, nonce, adopted)(bannerCss + (theme ? `:host{${theme}}` : ""));
    setDockRule = shadowSheet(shadow, nonce, adopted);

    // Without a slot the banner variant may dock as the floating button: both are built.
    let banner, floating, lazy;
    if ((variant === "results" || variant === "scoreboard") && slot) {
      // The public record in the slot, framed from the relay by dialog.js (see README.md).
      const box = element(shadow, "div", "inline");
      lazy = () => withDialog((api) => api.embed(variant, box));
    } else if (variant === "inline" && slot) {
      const box = element(shadow, "div", "inline");
      withDialog((api) => api.inline(box));
    } else {
      if (variant !== "button") {
        banner = element(shadow, "section", "banner");
        banner.setAttribute("aria-label", text.title);
        const words = element(banner, "div", "banner-text");
        element(words, "h2", "banner-title", text.title);
        element(words, "p", "banner-subtitle", text.subtitle);
        const actions = element(banner, "div", "banner-actions");
        button(actions, "", text.send, () => run(["open"]));
        button(actions, "secondary", text.lookUp, () => run(["track"]));
      }
      if (variant === "button" || !slot) {
        floating = element(shadow, "div", slot ? "in-slot" : "docked");
        button(floating, "floating-button", text.floatingButton, () => run(["open"]));
      }
      // Intent: fetch the dialog while the pointer or focus is on its way to a button.
      shadow.addEventListener("pointerover", loadDialog, { once: true });
      shadow.addEventListener("focusin", loadDialog, { once: true });
    }
    if (slot) {
      slot.textContent = "";
      slot.appendChild(host);
    } else {
      // Hidden for this page view only: nothing is stored.
      if (banner) {
        button(banner, "dismiss", "×", () => host.setAttribute("data-dismissed", ""))
          .setAttribute("aria-label", text.hide);
      }
      barElement = banner;
      dockedElement = floating;
      placeWithoutSlot(variant);
      document.body.appendChild(host);
      let scheduled = false;
      const place = () => {
        if (scheduled) return;
        scheduled = true;
        requestAnimationFrame(() => {
          scheduled = false;
          try {
            placeWithoutSlot(variant);
          } catch {
            // Measuring failed: the widget stays where it is.
          }
        });
      };
      // Cookie notices and players often arrive after us: look again when the page has loaded,
      // when the window changes size, and a little later.
      window.addEventListener("resize", place);
      window.addEventListener("load", place);
      setTimeout(place, 2000);
    }
    if (banner || floating) countImpression(banner || floating);
    if (lazy) {
      // The page pays nothing for the public record until the reader scrolls near the slot
      // (one target observed, so the last entry is its current state).
      const near = typeof IntersectionObserver === "function" && new IntersectionObserver((entries) => {
        if (entries[entries.length - 1].isIntersecting) {
          near.disconnect();
          beacon("results_view");
          lazy();
        }
      }, { rootMargin: "400px" });
      if (near) near.observe(host);
      else lazy();
    }
    for (let i = 0; i < pending.length; i++) run(pending[i]);
    pending = [];
    // A notice's link (…#phanhoi-track=CODE, widget_server/notify) opens the lookup, code filled in.
    const hash = String(location.hash);
    if (hash.indexOf("#phanhoi-track=") === 0) {
      try {
        run(["track", decodeURIComponent(hash.slice(15)).slice(0, 40)]);
      } catch {
        // A malformed link opens nothing.
      }
    }
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
