// Webhooks: subscriptions (GET/POST /v1/webhooks; edit URL, events and description and
// pause/resume with PATCH; rotate the
// signing secret; delete) and one subscription's delivery log (GET …/deliveries with paging,
// each delivery's attempts, and Redeliver). A secret is shown only right after it was made.
import { del, get, patch, post, query, seg } from "../api.js";
import { announce, badge, copyButton, formatDate, h, issuesList, navigate, replace, section, table } from "../dom.js";
import { showFieldIssues } from "./templates.js";

const EVENTS = ["render.succeeded", "render.failed"];

function unavailable(main, e) {
  replace(main, h("div.page-head", h("h1", "Webhooks")),
    h("div.card", h("p", e.status === 404 && e.code === "not_found"
      ? "This server does not offer the webhooks API yet (GET /v1/webhooks answered 404)."
      : `The webhooks could not be loaded: ${e.message}`)));
}

// The one-time secret, with a copy button; stays until dismissed.
function secretCallout(sub, what) {
  const box = h("div.callout", { role: "alert", id: "new-secret" },
    h("h2", what === "rotate" ? "New signing secret" : "Signing secret"),
    h("p", "Copy it now: it is shown only this once. Verify each delivery's ", h("code", "x-craftkit-signature-v2"), " (hex HMAC-SHA256 of the x-craftkit-timestamp header, a dot and the raw body) with it, and refuse old timestamps."),
    what === "rotate" && sub.previousSecretExpiresAt ? h("p", "The previous secret keeps working until ", formatDate(sub.previousSecretExpiresAt), ".") : null,
    h("p", h("code.secret", { id: "secret-value" }, sub.secret), " ", copyButton(sub.secret, "Copy secret")));
  const dismiss = h("button.secondary.small", { type: "button" }, "I have saved it");
  dismiss.addEventListener("click", () => box.remove());
  box.append(dismiss);
  return box;
}

// Buttons acting on one subscription; after(sub|null, message) redraws.
function subscriptionActions(sub, ctx, after) {
  const pause = h("button.secondary.small", { type: "button" }, sub.active ? "Pause" : "Resume");
  pause.setAttribute("aria-label", `${sub.active ? "Pause" : "Resume"} ${sub.url}`);
  pause.addEventListener("click", async () => {
    try {
      const next = await patch(`/v1/webhooks/${seg(sub.id)}`, { active: !sub.active }, { signal: ctx.signal });
      after(next, next.active ? "Subscription resumed" : "Subscription paused");
    } catch (e) {
      if (e.name !== "AbortError") announce(`Not changed: ${e.message}`, "error");
    }
  });
  const rotate = h("button.secondary.small", { type: "button", "aria-label": `Rotate secret of ${sub.url}` }, "Rotate secret");
  rotate.addEventListener("click", async () => {
    if (!confirm("Make a new signing secret? The current one keeps working for a short while so receivers can switch.")) return;
    try {
      const next = await post(`/v1/webhooks/${seg(sub.id)}/rotate-secret`, undefined, { signal: ctx.signal });
      after(next, "Secret rotated", "rotate");
    } catch (e) {
      if (e.name !== "AbortError") announce(`Not rotated: ${e.message}`, "error");
    }
  });
  const remove = h("button.danger.small", { type: "button", "aria-label": `Delete ${sub.url}` }, "Delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete the subscription to ${sub.url}? No more deliveries will be made to it.`)) return;
    try {
      await del(`/v1/webhooks/${seg(sub.id)}`, { signal: ctx.signal });
      after(null, "Subscription deleted");
    } catch (e) {
      if (e.name !== "AbortError") announce(`Not deleted: ${e.message}`, "error");
    }
  });
  return [pause, rotate, remove];
}

// An API refusal of a subscription form: URL issues next to the URL, the rest above the buttons.
function showSubmitError(err, urlField, formError) {
  const fe = err.issues?.fieldErrors || {};
  showFieldIssues(urlField, issuesList({ fieldErrors: fe }, { pick: (p) => p === "url" }));
  const other = Object.fromEntries(Object.entries(fe).filter(([p]) => p !== "url"));
  const rest = issuesList({ formErrors: err.issues?.formErrors, fieldErrors: other });
  replace(formError, err.message, rest.length ? h("ul", rest) : null);
  formError.hidden = false;
}

// Edit URL, events and description of sub (PATCH; an emptied description is cleared).
// saved(next) gets the updated subscription.
function editForm(sub, ctx, saved) {
  const url = h("input", { type: "url", id: "wh-edit-url", required: true, value: sub.url, autocomplete: "off", "aria-describedby": "wh-edit-url-errors" });
  const urlField = { control: url, errors: h("ul.field-errors", { id: "wh-edit-url-errors", hidden: true }) };
  const description = h("input", { type: "text", id: "wh-edit-description", maxlength: "280", value: sub.description || "", autocomplete: "off" });
  const eventBoxes = EVENTS.map((ev) => h("input", { type: "checkbox", id: `wh-edit-ev-${ev}`, value: ev, checked: sub.events.includes(ev) }));
  const formError = h("div.error", { role: "alert", hidden: true });
  const form = h("form", { novalidate: true, "aria-label": "Edit subscription" },
    h("div.field", h("label", { for: "wh-edit-url" }, "Endpoint URL"), url, urlField.errors),
    h("fieldset", h("legend", "Events"), eventBoxes.map((b) => h("div.checkbox", b, h("label", { for: b.id }, b.value)))),
    h("div.field", h("label", { for: "wh-edit-description" }, "Description (optional)"), description),
    formError,
    h("div.actions", h("button", { type: "submit" }, "Save changes")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showFieldIssues(urlField, []);
    formError.hidden = true;
    const body = { url: url.value.trim(), events: eventBoxes.filter((b) => b.checked).map((b) => b.value),
      description: description.value.trim() || null };
    try {
      saved(await patch(`/v1/webhooks/${seg(sub.id)}`, body, { signal: ctx.signal }));
    } catch (err) {
      if (err.name !== "AbortError") showSubmitError(err, urlField, formError);
    }
  });
  return h("details.card", { id: "wh-edit" }, h("summary", "Edit subscription"), form);
}

export async function webhooksView(main, ctx) {
  let list;
  try {
    list = (await get("/v1/webhooks", { signal: ctx.signal })).webhooks;
  } catch (e) {
    if (e.name === "AbortError" || e.status === 401) throw e;
    return unavailable(main, e);
  }
  const secretSlot = h("div");
  const body = h("tbody");
  const empty = h("p.empty", "No subscriptions yet.");
  let tableBox;
  const draw = () => {
    replace(body, list.map((s) => h("tr",
      h("th", { scope: "row" }, h("a", { href: `#/webhooks/${seg(s.id)}` }, h("span.url", s.url))),
      h("td", s.events.join(", ")),
      h("td", s.active ? badge("active", "succeeded") : badge("paused", "draft")),
      h("td", s.description || "—"),
      h("td", formatDate(s.createdAt)),
      h("td.row-actions", subscriptionActions(s, ctx, (next, msg, what) => {
        if (next) list = list.map((x) => (x.id === next.id ? next : x));
        else list = list.filter((x) => x.id !== s.id);
        if (what === "rotate") replace(secretSlot, secretCallout(next, "rotate"));
        draw();
        announce(msg);
      })))));
    empty.hidden = list.length > 0;
    tableBox.hidden = list.length === 0;
  };

  const url = h("input", { type: "url", required: true, placeholder: "https://example.com/hooks/craftkit", autocomplete: "off" });
  const urlField = { control: url, errors: h("ul.field-errors", { id: "wh-url-errors", hidden: true }) };
  url.id = "wh-url";
  url.setAttribute("aria-describedby", "wh-url-errors");
  const description = h("input", { type: "text", id: "wh-description", maxlength: "280", autocomplete: "off" });
  const eventBoxes = EVENTS.map((ev) => h("input", { type: "checkbox", id: `wh-ev-${ev}`, value: ev, checked: true }));
  const active = h("input", { type: "checkbox", id: "wh-active", checked: true });
  const formError = h("div.error", { role: "alert", hidden: true });
  const form = h("form.card", { novalidate: true, "aria-labelledby": "wh-new" },
    h("h2", { id: "wh-new" }, "New subscription"),
    h("div.field", h("label", { for: "wh-url" }, "Endpoint URL"), url, urlField.errors),
    h("fieldset", h("legend", "Events"), eventBoxes.map((b) => h("div.checkbox", b, h("label", { for: b.id }, b.value)))),
    h("div.field", h("label", { for: "wh-description" }, "Description (optional)"), description),
    h("div.field.checkbox", active, h("label", { for: "wh-active" }, "Active (deliver events now)")),
    formError,
    h("div.actions", h("button", { type: "submit" }, "Create subscription")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    showFieldIssues(urlField, []);
    formError.hidden = true;
    const body = { url: url.value.trim(), events: eventBoxes.filter((b) => b.checked).map((b) => b.value), active: active.checked };
    if (description.value.trim()) body.description = description.value.trim();
    try {
      const sub = await post("/v1/webhooks", body, { signal: ctx.signal });
      list = [sub, ...list];
      replace(secretSlot, secretCallout(sub, "create"));
      form.reset();
      eventBoxes.forEach((b) => (b.checked = true));
      active.checked = true;
      draw();
      announce("Subscription created");
      secretSlot.querySelector("button")?.focus();
    } catch (err) {
      if (err.name !== "AbortError") showSubmitError(err, urlField, formError);
    }
  });

  replace(main,
    h("div.page-head", h("h1", "Webhooks")),
    h("p.lead", "craftkit POSTs a signed event to each active subscription when a render succeeds or fails, retrying with backoff."),
    secretSlot,
    section("Subscriptions",
      (tableBox = table("Webhook subscriptions", ["Endpoint", "Events", "State", "Description", "Created", "Actions"], body)), empty),
    form);
  draw();
}

function attemptsTable(d) {
  if (!d.attempts?.length) return h("p.muted", "No attempt yet.");
  return table(`Attempts of delivery ${d.id}`, ["#", "Started", "HTTP status", "Duration", "Error", "Response"], d.attempts.map((a) => h("tr",
    h("th", { scope: "row" }, a.number),
    h("td", formatDate(a.startedAt)),
    h("td", a.statusCode ?? "—"),
    h("td", a.durationMs === null || a.durationMs === undefined ? "—" : `${a.durationMs} ms`),
    h("td", a.error || "—"),
    h("td", a.responseSnippet ? h("code.snippet", a.responseSnippet) : "—"))));
}

export async function webhookView(main, ctx, [id], q) {
  const cursor = q.get("cursor") || "";
  let sub;
  try {
    sub = await get(`/v1/webhooks/${seg(id)}`, { signal: ctx.signal });
  } catch (e) {
    if (e.name === "AbortError" || e.status === 401) throw e;
    if (e.code === "webhook_not_found") {
      replace(main, h("div.card", h("h1", "Subscription not found"), h("p", "It was deleted, or belongs to another project. ", h("a", { href: "#/webhooks" }, "Back to the webhooks"), ".")));
      return;
    }
    return unavailable(main, e);
  }
  const head = h("div");
  const secretSlot = h("div");
  const log = h("div");
  const drawHead = () => replace(head,
    h("div.page-head",
      h("div", h("p.crumbs", h("a", { href: "#/webhooks" }, "Webhooks"), " / ", h("code", sub.id)), h("h1", h("span.url", sub.url))),
      h("div.actions", subscriptionActions(sub, ctx, (next, msg, what) => {
        announce(msg);
        if (!next) return navigate("#/webhooks");
        sub = next;
        if (what === "rotate") replace(secretSlot, secretCallout(next, "rotate"));
        drawHead();
      }))),
    h("dl.props.card",
      h("dt", "State"), h("dd", sub.active ? badge("active", "succeeded") : badge("paused", "draft")),
      h("dt", "Events"), h("dd", sub.events.join(", ")),
      h("dt", "Description"), h("dd", sub.description || "—"),
      h("dt", "Created"), h("dd", formatDate(sub.createdAt)),
      h("dt", "Updated"), h("dd", formatDate(sub.updatedAt)),
      sub.previousSecretExpiresAt ? [h("dt", "Previous secret valid until"), h("dd", formatDate(sub.previousSecretExpiresAt))] : null),
    editForm(sub, ctx, (next) => {
      sub = next;
      drawHead();
      announce("Subscription updated");
    }));

  const loadLog = async () => {
    const page = await get(`/v1/webhooks/${seg(sub.id)}/deliveries` + query({ limit: 20, cursor }), { signal: ctx.signal });
    replace(log,
      page.deliveries.length ? h("ul.deliveries", page.deliveries.map((d) => {
        const redeliver = h("button.secondary.small", { type: "button", "aria-label": `Redeliver ${d.event} of render ${d.renderId}` }, "Redeliver");
        redeliver.addEventListener("click", async () => {
          redeliver.disabled = true;
          try {
            await post(`/v1/webhooks/${seg(sub.id)}/deliveries/${seg(d.id)}/redeliver`, undefined, { signal: ctx.signal });
            announce("Redelivery queued");
            await loadLog();
          } catch (e) {
            if (e.name !== "AbortError") announce(`Not redelivered: ${e.message}`, "error");
            redeliver.disabled = false;
          }
        });
        return h("li.delivery", { "data-delivery-id": d.id },
          h("details",
            h("summary",
              badge(d.status, d.status), " ", h("code", d.event), " · render ", h("code", (d.renderId || "").slice(0, 8) + "…"),
              ` · ${d.attemptCount} attempt${d.attemptCount === 1 ? "" : "s"} · ${formatDate(d.createdAt)}`),
            h("dl.props",
              h("dt", "Delivery id"), h("dd", h("code", d.id)),
              h("dt", "Render"), h("dd", d.renderId ? h("a", { href: `#/renders/${seg(d.renderId)}` }, d.renderId) : "—"),
              h("dt", "Delivered"), h("dd", formatDate(d.deliveredAt)),
              h("dt", "Next attempt"), h("dd", formatDate(d.nextAttemptAt))),
            attemptsTable(d)),
          h("div.row-actions", redeliver));
      })) : h("p.empty", "No deliveries yet. They appear when a render of this project succeeds or fails."),
      h("nav.pager", { "aria-label": "Pages of deliveries" },
        cursor ? h("a.button.secondary", { href: `#/webhooks/${seg(sub.id)}` }, "← Newest") : null,
        page.hasMore ? h("a.button.secondary", { href: `#/webhooks/${seg(sub.id)}` + query({ cursor: page.nextCursor }), rel: "next" }, "Older →") : null));
  };
  const refresh = h("button.secondary.small", { type: "button" }, "Refresh");
  refresh.addEventListener("click", () => loadLog().catch((e) => e.name !== "AbortError" && announce(e.message, "error")));
  replace(main, head, secretSlot, section("Delivery log", h("div.actions", refresh), log));
  drawHead();
  await loadLog();
}
