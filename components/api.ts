/** The dashboard API's error, with the field it names so a form can show it next to the input. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string | undefined,
    readonly field: string | undefined,
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: { type?: string; message?: string; field?: string };
}

/** fetch + JSON, throwing RequestError for any non-2xx answer; network failures say so in words. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T & { httpStatus: number }> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers: init.body === undefined ? undefined : { "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      cache: "no-store",
    });
  } catch {
    throw new RequestError("Could not reach the dashboard server. Check your connection and try again.", 0, undefined, undefined);
  }
  const body = (await response.json().catch(() => ({}))) as T & ErrorBody;
  if (!response.ok) {
    const raw = body.error?.message ?? `The server answered ${response.status}`;
    const field = body.error?.field;
    // "rpm_limit: must be at least 1" → "must be at least 1": the field is shown beside it.
    const message = field && raw.startsWith(`${field}: `) ? raw.slice(field.length + 2) : raw;
    throw new RequestError(message, response.status, body.error?.type, field);
  }
  return { ...body, httpStatus: response.status };
}
