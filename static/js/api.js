// The shared fetch wrapper: JSON in and out, the CSRF header on writes, {"error"} bodies as ApiError.

/** A refusal from the server (status >= 400) or no answer at all (status 0, code "network"). */
export class ApiError extends Error {
  constructor(status, code, message, field = null, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.details = details;
  }

  /** True when the request never got an answer: worth retrying later. */
  get offline() {
    return this.status === 0;
  }
}

let csrfToken = null;
let whoami = null;

/** The signed-in staff member (cached); rejects with ApiError 401 when nobody is signed in. */
export async function me(refresh = false) {
  if (whoami && !refresh) return whoami;
  whoami = await request("GET", "/api/auth/me");
  csrfToken = whoami.csrf_token;
  return whoami;
}

async function send(method, path, body, headers) {
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "No connection to the server.");
  }
}

async function parse(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** One request; writes carry X-CSRF-Token, and a stale token is refreshed once and the write retried. */
export async function request(method, path, body, retried = false) {
  const headers = { Accept: "application/json" };
  const unsafe = !["GET", "HEAD"].includes(method);
  if (unsafe) {
    if (!csrfToken) await me();
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = csrfToken;
  }
  const response = await send(method, path, unsafe ? (body ?? {}) : undefined, headers);
  const data = await parse(response);
  if (response.ok) return data;
  const error = (data && data.error) || {};
  if (response.status === 403 && error.code === "csrf_failed" && !retried) {
    await me(true);
    return request(method, path, body, true);
  }
  const { code, message, field, ...details } = error;
  throw new ApiError(response.status, code || "http_" + response.status,
                     message || response.statusText || "The request failed.", field ?? null, details);
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  delete: (path) => request("DELETE", path),
};
