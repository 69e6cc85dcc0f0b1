// Sign in: a project key is pasted, checked with GET /v1/project, and kept in sessionStorage
// for this tab only. The input has no name, so even without JavaScript the form would send
// nothing; the key never appears in a URL.
import { get, session } from "../api.js";
import { h, replace } from "../dom.js";

const KEY_FORMAT = /^ck_(live|test)_[A-Za-z0-9]{40}$/;

export function signInView(main, ctx, { message, onSignedIn }) {
  const error = h("div.error", { id: "signin-error", role: "alert", hidden: !message }, message || "");
  const input = h("input", {
    id: "key", type: "password", autocomplete: "off", spellcheck: "false", autocapitalize: "off",
    required: true, "aria-describedby": "key-help signin-error", placeholder: "ck_live_…",
  });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form.card.signin", { method: "post", action: "#", novalidate: true },
    h("h1", "Sign in"),
    h("p", "Paste a project API key. It is checked with the API and kept in this browser tab only (session storage) until you sign out or close the tab."),
    h("label", { for: "key" }, "Project key"),
    input,
    h("p.help", { id: "key-help" }, "A key starts with ck_live_ or ck_test_. Admins make keys with ", h("code", "craftkit key create"), " or the projects API."),
    error,
    h("div.actions", button));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = input.value.trim();
    const fail = (msg) => {
      error.textContent = msg;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    };
    if (!key) return fail("Enter a project key.");
    if (!KEY_FORMAT.test(key))
      return fail("That is not a project key: a key is ck_live_ or ck_test_ followed by 40 letters and digits.");
    button.disabled = true;
    button.textContent = "Checking…";
    try {
      const project = await get("/v1/project", { key, signal: ctx.signal });
      session.set(key);
      input.value = "";
      onSignedIn(project);
    } catch (err) {
      if (err.name === "AbortError") return;
      fail(err.status === 401
        ? "This key was not accepted: it is unknown or revoked, or its project was deleted."
        : `The key could not be checked: ${err.message}`);
    } finally {
      button.disabled = false;
      button.textContent = "Sign in";
    }
  });
  replace(main, form);
  input.focus();
}
