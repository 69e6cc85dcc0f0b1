// api — the dashboard's only way to the server: the public JSON API (docs/api.md), same
// origin, with the project key as a bearer token. The key lives in sessionStorage only (gone
// when the tab closes), is sent only in the Authorization header, and is never logged or put
// in a URL.

const KEY_ITEM = "craftkit.dashboard.key";

export const session = {
  key() {
    try {
      return sessionStorage.getItem(KEY_ITEM);
    } catch {
      return null;
    }
  },
  set(key) {
    sessionStorage.setItem(KEY_ITEM, key);
  },
  clear() {
    try {
      sessionStorage.removeItem(KEY_ITEM);
    } catch {
      /* storage disabled: nothing was kept */
    }
  },
};

export class ApiError extends Error {
  constructor(status, code, message, issues) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

// Called when a stored key stops working (revoked, project deleted): set by the app.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// request(method, path, {body, signal, key, binary}) → parsed JSON (or {blob, headers} when
// binary). A FormData body is sent as multipart/form-data (file uploads), anything else as JSON.
// Throws ApiError for every non-2xx answer, with the API's code, message and issues.
export async function request(method, path, { body, signal, key, binary } = {}) {
  const bearer = key ?? session.key();
  const headers = { Accept: binary ? "*/*" : "application/json" };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const form = body instanceof FormData; // the browser writes the multipart boundary itself
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network_error", "The server could not be reached. Check your connection and try again.");
  }
  if (res.ok && binary) return { blob: await res.blob(), headers: res.headers, status: res.status };
  let json = null;
  const text = await res.text();
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (res.ok) return json;
  const err = json?.error || {};
  const e = new ApiError(res.status, err.code || "http_" + res.status, err.message || `The server answered ${res.status}`, err.issues);
  if (res.status === 401 && key === undefined) onUnauthorized(e);
  throw e;
}

export const get = (path, opts) => request("GET", path, opts);
export const post = (path, body, opts) => request("POST", path, { ...opts, body });
export const put = (path, body, opts) => request("PUT", path, { ...opts, body });
export const patch = (path, body, opts) => request("PATCH", path, { ...opts, body });
export const del = (path, opts) => request("DELETE", path, opts);

// Path segment escaping for ids and slugs that come from the API.
export const seg = (s) => encodeURIComponent(String(s));

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}
