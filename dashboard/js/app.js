// app — boots the dashboard: the hash router (#/templates, #/renders/ID, …), the signed-in
// shell (navigation, project name, Sign out) and the view lifecycle. Each view gets a
// context whose AbortSignal and cleanups end its requests and timers when the route changes.
import { get, session, setUnauthorizedHandler } from "./api.js";
import { announce, h, navigate, replace } from "./dom.js";
import { signInView } from "./views/signin.js";
import { templatesView, newTemplateView, templateView } from "./views/templates.js";
import { editorView } from "./views/editor.js";
import { rendersView, renderView } from "./views/renders.js";
import { webhooksView, webhookView } from "./views/webhooks.js";
import { assetsView } from "./views/assets.js";
import { partialsView } from "./views/partials.js";
import { batchesView, batchView } from "./views/batches.js";

const routes = [
  [/^\/templates$/, templatesView, "templates"],
  [/^\/templates\/new$/, newTemplateView, "templates"],
  [/^\/templates\/([^/]+)$/, templateView, "templates"],
  [/^\/templates\/([^/]+)\/edit$/, editorView, "templates"],
  [/^\/renders$/, rendersView, "renders"],
  [/^\/renders\/([^/]+)$/, renderView, "renders"],
  [/^\/batches$/, batchesView, "batches"],
  [/^\/batches\/([^/]+)$/, batchView, "batches"],
  [/^\/webhooks$/, webhooksView, "webhooks"],
  [/^\/webhooks\/([^/]+)$/, webhookView, "webhooks"],
  [/^\/assets$/, assetsView, "assets"],
  [/^\/partials$/, partialsView, "partials"],
];

let project = null; // GET /v1/project of the signed-in key
let current = null; // the running view's context


function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  return { path, query: new URLSearchParams(qs || "") };
}

function showShell(signedIn) {
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("account").hidden = !signedIn;
  if (signedIn && project) {
    document.getElementById("project-name").textContent = project.name;
    const env = document.getElementById("project-env");
    env.textContent = project.environment === "test" ? "test key" : "live key";
    env.dataset.kind = project.environment === "test" ? "test" : "live";
  }
}

function newContext() {
  current?.controller.abort();
  for (const fn of current?.cleanups || []) fn();
  const controller = new AbortController();
  const ctx = {
    controller,
    signal: controller.signal,
    cleanups: [],
    onCleanup(fn) { this.cleanups.push(fn); },
    get alive() { return !controller.signal.aborted; },
    // setInterval that stops with the view
    every(ms, fn) { const t = setInterval(fn, ms); this.onCleanup(() => clearInterval(t)); },
    after(ms, fn) { const t = setTimeout(fn, ms); this.onCleanup(() => clearTimeout(t)); },
  };
  current = ctx;
  return ctx;
}

export function signOut(message) {
  session.clear();
  project = null;
  newContext();
  showShell(false);
  if (location.hash !== "#/signin") history.replaceState(null, "", "#/signin");
  route(message);
}

async function route(message) {
  const main = document.getElementById("main");
  const ctx = newContext();
  const { path, query } = parseHash();
  if (!session.key()) {
    showShell(false);
    replace(main);
    signInView(main, ctx, { message, onSignedIn: (p) => {
      project = p;
      showShell(true);
      // a deep link opened before signing in (#/renders/…) is shown now
      if (routes.some(([re]) => re.test(parseHash().path))) route();
      else navigate("#/templates");
    } });
    return;
  }
  if (!project) {
    try {
      project = await get("/v1/project", { signal: ctx.signal });
    } catch (e) {
      if (e.name === "AbortError") return;
      if (e.status === 401) return; // the unauthorized handler signs out
      replace(main, h("div.card.error", { role: "alert" }, "The dashboard could not load your project: ", e.message));
      return;
    }
    if (!ctx.alive) return;
  }
  showShell(true);
  const found = routes.find(([re]) => re.test(path));
  if (!found) {
    if (path === "/" || path === "/signin" || path === "") {
      history.replaceState(null, "", "#/templates");
      return route();
    }
    replace(main, h("div.card", h("h1", { tabindex: "-1" }, "Page not found"), h("p", "There is no page at this address. ", h("a", { href: "#/templates" }, "Go to the templates"), ".")));
    focusHeading(main);
    return;
  }
  const [re, view, nav] = found;
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const params = re.exec(path).slice(1).map(decodeURIComponent);
  replace(main, h("p.loading", "Loading…"));
  try {
    await view(main, ctx, params, query);
  } catch (e) {
    if (e.name === "AbortError" || !ctx.alive) return;
    if (e.status === 401) return;
    replace(main, h("div.card.error", { role: "alert" }, h("h1", { tabindex: "-1" }, "Something went wrong"), h("p", e.message)));
  }
  if (ctx.alive) focusHeading(main);
}

// Moves focus to the new page's heading so screen readers announce it (not on first load).
let firstRoute = true;
function focusHeading(main) {
  if (firstRoute) {
    firstRoute = false;
    return;
  }
  const h1 = main.querySelector("h1");
  if (h1) {
    h1.setAttribute("tabindex", "-1");
    h1.focus({ preventScroll: false });
  }
}

setUnauthorizedHandler(() => {
  if (session.key()) signOut("Your key is no longer accepted (revoked, or its project was deleted). Sign in again.");
});

document.getElementById("signout").addEventListener("click", () => {
  signOut();
  announce("Signed out. The key was removed from this tab.");
});
document.getElementById("skip").addEventListener("click", (e) => {
  e.preventDefault();
  document.getElementById("main").focus();
});
window.addEventListener("hashchange", () => route());
route();
