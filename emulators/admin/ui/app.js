// pixelmock inspector: draws what the control plane (/__admin/...) reports, polling it while "live".
// Every piece of request or answer content reaches the page as text (text nodes, attribute values set
// one by one): no markup is ever parsed from data, so a prompt holding <script> shows as those characters.

const ADMIN = new URL("..", import.meta.url); // this file is <admin>/ui/app.js
const POLL_MS = 1500;
const JOURNAL_LIMIT = 300; // most recent entries drawn in the requests tab
const ID_KEYS = ["jobId", "id", "request_id", "taskUUID"]; // how the providers name a job or task
const STATE_KEYS = ["status", "state"];
const TRUNCATED = /…\[(\d+) chars\]$/; // the journal shortens long strings (base64 images) this way

const state = {
  tab: "requests",
  selected: null, // seq of the request shown in the detail pane
  entries: [], // the journal as last drawn (requests tab: filtered)
  seen: new Map(), // what each view was last drawn from (skip redraws when nothing changed)
  providers: {}, // mounted provider -> its prefix (GET /__admin/)
  colours: {}, // mounted provider -> { background, text }, from the provider registry (GET /__admin/providers)
};

// ---------------------------------------------------------------------------------------------------
// DOM helpers: elements from a tag, properties and children (strings become text nodes)

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const $ = (selector) => document.querySelector(selector);

// A provider's name as a tag in its registry colours (style properties set one by one, never parsed).
function providerTag(name) {
  const tag = h("span", { class: `provider ${name}` }, name);
  const colour = state.colours[name];
  if (colour) {
    tag.style.setProperty("--provider-bg", colour.background);
    tag.style.setProperty("--provider-ink", colour.text);
  }
  return tag;
}

function fill(tbody, rows, empty) {
  tbody.replaceChildren(...rows);
  if (empty) empty.hidden = rows.length > 0;
}

function pretty(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

function pill(text, kind) {
  return h("span", { class: `pill ${kind || ""}` }, text);
}

function statusPill(status) {
  const kind = status >= 500 || status === 0 ? "bad" : status >= 400 ? "warn" : "good";
  return pill(String(status), kind);
}

// An outbound attempt's answer: its HTTP status, or, when nothing answered (status 0), why not, in short
// (the whole error in the tooltip): "refused: <reason>" when pixelmock would not call the address
// ("refused: <reason>: <hint>"), "no answer: <what failed>" when the connection failed ("ConnectError:
// [Errno 111] Connection refused" reads "no answer: Connection refused").
function attemptPill(status, error) {
  if (status !== 0) return statusPill(status);
  const [head, ...rest] = (error || "").split(": ");
  const label = !error ? "no answer"
    : head === "refused" ? `refused: ${rest[0] || "not called"}`
      : `no answer: ${rest.join(": ").replace(/^\[Errno \d+\] /, "") || head}`;
  const tag = pill(label, "bad");
  if (error) tag.title = error;
  return tag;
}

// What a WebSocket message was answered with: no HTTP status (the entry carries the upgrade's 101), but
// the kinds of the frames sent in reply (Runware: "data", "errors"), or none (the connection ended).
function websocketPill(frames) {
  const kinds = [...new Set(frames.flatMap((frame) => (frame && typeof frame === "object" ? Object.keys(frame) : [])))];
  const kind = kinds.includes("errors") ? "warn" : kinds.length ? "good" : "bad";
  return pill(`WebSocket · ${kinds.length ? kinds.join(", ") : "no frame"}`, kind);
}

// A journal entry's status as the user reads it: HTTP status, WebSocket frame kinds, or an outbound
// attempt's failure.
function entryStatus(entry) {
  const response = entry.response || {};
  if (entry.method === "WEBSOCKET") return websocketPill(response.frames || []);
  return attemptPill(entry.status, response.error);
}

const GOOD_STATES = /^(completed|complete|success|succeeded|delivered|done)$/i;
const BAD_STATES = /^(failed|failure|error|refused|cancelled|canceled|expired)$/i;

function statePill(text) {
  const kind = GOOD_STATES.test(text) ? "good" : BAD_STATES.test(text) ? "bad" : "busy";
  return pill(text, kind);
}

function clockTime(iso) {
  // "2026-11-21T09:30:11.356092+00:00" -> "09:30:11.356" (UTC; the date goes in the tooltip)
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return h("span", {}, iso);
  const text = moment.toISOString();
  return h("time", { datetime: iso, title: iso }, text.slice(11, 23));
}

function seconds(from, to) {
  const delta = (new Date(to) - new Date(from)) / 1000;
  return `+${delta.toFixed(delta < 10 && delta % 1 ? 1 : 0)} s`;
}

function short(id) {
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

// ---------------------------------------------------------------------------------------------------
// The control plane

async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, ADMIN);
  for (const [name, value] of Object.entries(query || {})) if (value) url.searchParams.set(name, value);
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = JSON.parse(text).error || text;
    } catch {
      // not JSON: keep the text
    }
    throw new Error(`${method} ${url.pathname}: ${response.status} ${message}`);
  }
  return text;
}

// Whether the answers a view is drawn from differ from the last drawing (and note them).
function fresh(key, ...texts) {
  const text = texts.join("\n");
  if (state.seen.get(key) === text) return false;
  state.seen.set(key, text);
  return true;
}

function report(error) {
  $("#status-line").textContent = error ? String(error.message || error) : "";
  $("#status-line").classList.toggle("error", Boolean(error));
}

// ---------------------------------------------------------------------------------------------------
// Reading journal entries

function costOf(entry) {
  for (const note of entry.notes || []) {
    const cost = note && note.cost;
    if (!cost) continue;
    if (cost.usd !== undefined && cost.usd !== null) return `$${cost.usd}`;
    if (cost.credits !== undefined && cost.credits !== null) return `${cost.credits} credits`;
  }
  const moved = (entry.ledger || []).map((line) => `${line.amount} ${line.currency}`);
  return moved.join(", ");
}

// The canonical model(s) the emulator resolved for an entry (one per task of a Runware array).
function modelOf(entry) {
  const models = (entry.notes || []).map((note) => (note.canonical && note.canonical.model) || (note.cost && note.cost.model));
  return [...new Set(models.filter(Boolean))].join(", ");
}

// Where an answer came from when the emulator did not make it as usual: an injected fault (note
// {fault: {kind}}, applied by the provider's flow or answered at once), a cassette replayed (note
// {answered_by: "cassette", replayed: "<cassette>#<index>"}), the real provider or the emulator behind a
// proxy (answered_by "upstream" / "emulator").
const ANSWERED_BY = {
  cassette: (note) => ["replayed", `replayed from the cassette ${note.replayed || ""}`.trim()],
  upstream: () => ["upstream", "answered by the real provider (pixelmock proxy)"],
  emulator: () => ["emulator", "answered by the emulator, not forwarded (pixelmock proxy)"],
};

function marks(entry) {
  return (entry.notes || []).flatMap((note) => {
    if (note.fault) return [h("span", { class: "pill mark fault", title: `an injected fault: ${JSON.stringify(note.fault)}` }, `fault: ${note.fault.kind}`)];
    const mark = ANSWERED_BY[note.answered_by];
    if (!mark) return [];
    const [text, title] = mark(note);
    return [h("span", { class: `pill mark ${note.answered_by}`, title }, text)];
  });
}

// The input images of an edit: each image and the mask the canonical request holds ({mime, width,
// height, data: {bytes}} or {url}), named by the uploaded part it came from (request.files, image parts
// before image[] parts as the canonical request orders them); without a canonical request (a refused
// edit), the uploaded parts alone. Thumbnails only for images this emulator serves (a URL under /files/);
// uploaded bytes are not kept, so the others show as what they were.
const FILE_FIELDS = ["image", "image[]"];

function inputsOf(entry) {
  const request = entry.request || {};
  const files = request.files || [];
  const uploaded = files.filter((file) => FILE_FIELDS.includes(file.field))
    .sort((a, b) => FILE_FIELDS.indexOf(a.field) - FILE_FIELDS.indexOf(b.field));
  const mask = files.find((file) => file.field === "mask");
  const canonical = (entry.notes || []).map((note) => note.canonical).filter(Boolean);
  if (!canonical.length) {
    return [...uploaded.map((file, i) => ({ role: `image ${i + 1}`, file })), ...(mask ? [{ role: "mask", file: mask }] : [])];
  }
  return canonical.flatMap((resolved) => [
    ...(resolved.input_images || []).map((image, i) => ({ role: `image ${i + 1}`, image, file: uploaded[i] })),
    ...(resolved.mask ? [{ role: "mask", image: resolved.mask, file: mask }] : []),
  ]);
}

// The path of an emulator file URL (/files/<id>.<ext>, drawn from this origin), or null.
function servedPath(url) {
  try {
    const parsed = new URL(url);
    return parsed.pathname.startsWith("/files/") ? parsed.pathname + parsed.search : null;
  } catch {
    return null;
  }
}

function byteSize(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function inputTiles(inputs) {
  return h("div", { class: "thumbs large inputs" }, inputs.map(({ role, image = {}, file }) => {
    const src = image.url ? servedPath(image.url) : null;
    const facts = [
      file && file.filename,
      image.mime || (file && file.content_type),
      image.width && image.height ? `${image.width}×${image.height}` : null,
      image.data && image.data.bytes !== undefined ? byteSize(image.data.bytes) : null,
      image.url && !src ? image.url : null,
    ].filter(Boolean);
    return h("figure", { class: "input", "data-role": role },
      src ? h("a", { href: src, target: "_blank", rel: "noopener", title: image.url }, h("img", { src, alt: role, loading: "lazy" }))
        : h("span", { class: "thumb-missing", title: "the emulator does not keep uploaded images" }, "not kept"),
      h("figcaption", {}, h("b", {}, role), facts.length ? h("br") : null, facts.join(" · ")));
  }));
}

// The images an answer carries: emulator file URLs (drawn from this origin), whole data URIs, and
// base64 the journal kept only the start of (a placeholder with its length).
function imagesOf(value, found = []) {
  if (typeof value === "string") {
    const cut = TRUNCATED.exec(value);
    if (value.startsWith("data:image/") && !cut) found.push({ src: value });
    else if (/^https?:\/\//.test(value)) {
      const src = servedPath(value);
      if (src) found.push({ src });
    }
  } else if (Array.isArray(value)) {
    for (const item of value) imagesOf(item, found);
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const cut = typeof item === "string" ? TRUNCATED.exec(item) : null;
      if (cut && /b64|base64/i.test(key)) found.push({ missing: Number(cut[1]) });
      else imagesOf(item, found);
    }
  }
  return distinct(found);
}

// An entry's images: those its answer names and, for base64 the journal kept only the start of, the
// copies the emulator noted (notes [{image: "/files/<id>.<ext>"}], the same bytes, drawn from this origin).
function entryImages(entry) {
  const noted = (entry.notes || [])
    .filter((note) => typeof note.image === "string" && note.image.startsWith("/files/"))
    .map((note) => ({ src: note.image }));
  const answered = imagesOf(entry.response);
  return noted.length ? distinct([...answered.filter((image) => !image.missing), ...noted]) : answered;
}

// Images without repeats of the same file (a GMI answer names it as result and as thumbnail).
function distinct(images) {
  const sources = new Set();
  return images.filter((image) => !image.src || (!sources.has(image.src) && sources.add(image.src)));
}

function thumbs(images, size) {
  return h(
    "div",
    { class: `thumbs ${size}` },
    images.map((image) =>
      image.src
        ? h("a", { href: image.src, target: "_blank", rel: "noopener", title: image.src },
            h("img", { src: image.src, alt: "generated image", loading: "lazy" }))
        : h("span", { class: "thumb-missing", title: "the journal keeps only the start of base64 images" },
            `base64 image`, h("br"), `${Math.round((image.missing * 3) / 4 / 1024)} KiB, not kept`),
    ),
  );
}

// Each object in `value` naming a job or task and its state: {id, state, progress, images}.
function observations(value, found = []) {
  if (Array.isArray(value)) {
    for (const item of value) observations(item, found);
  } else if (value && typeof value === "object") {
    const idKey = ID_KEYS.find((key) => typeof value[key] === "string" && value[key]);
    const stateKey = STATE_KEYS.find((key) => typeof value[key] === "string" && value[key]);
    if (idKey && stateKey) {
      found.push({ id: value[idKey], state: value[stateKey], progress: value.progress, images: imagesOf(value) });
    }
    for (const item of Object.values(value)) if (item && typeof item === "object") observations(item, found);
  }
  return found;
}

// Runware's tasks in an answer, a WebSocket frame or a webhook body ({data: [item]}, {errors: [item]}),
// each item naming its taskUUID. Only getResponse items carry a status; the others are read as the status
// getResponse gives the same task then: an item with an image is a "success", an acknowledgement
// ({taskType, taskUUID}: async or webhook delivery) "processing", an error item "error" (its code shown).
function runwareTasks(value, found = []) {
  if (Array.isArray(value)) {
    for (const item of value) runwareTasks(item, found);
  } else if (value && typeof value === "object") {
    const read = (item, failed) => {
      if (!item || typeof item !== "object" || typeof item.taskUUID !== "string") return;
      const images = imagesOf(item);
      const done = images.length || ["imageURL", "imageBase64Data", "imageDataURI"].some((key) => key in item);
      const state = item.status || (failed ? "error" : done ? "success" : "processing");
      found.push({ id: item.taskUUID, state, detail: failed ? item.code : undefined, images });
    };
    for (const item of Array.isArray(value.data) ? value.data : []) read(item, false);
    for (const item of Array.isArray(value.errors) ? value.errors : []) read(item, true);
  }
  return found;
}

// How each provider's answers name its jobs or tasks (the generic reader for the others).
const TASK_READERS = { runware: runwareTasks };

function tasksIn(provider, value) {
  return (TASK_READERS[provider] || observations)(value);
}

// ---------------------------------------------------------------------------------------------------
// Requests

function filters() {
  return Object.fromEntries(new FormData($("#filters")).entries());
}

async function loadRequests() {
  const text = await api("journal", { query: { ...filters(), limit: String(JOURNAL_LIMIT) } });
  if (!fresh("journal", text)) return;
  const journal = JSON.parse(text);
  state.entries = journal.entries;
  $("#count-requests").textContent = String(journal.count);
  const rows = [...journal.entries].reverse().map((entry) => {
    const inputs = inputsOf(entry);
    const row = h(
      "tr",
      { "data-seq": entry.seq, class: entry.seq === state.selected ? "selected" : "", onclick: () => select(entry.seq) },
      h("td", { class: "num" }, entry.seq),
      h("td", {}, clockTime(entry.at)),
      h("td", {}, providerTag(entry.provider)),
      h("td", { class: "model" }, modelOf(entry)),
      h("td", { class: "request", title: `${entry.method} ${entry.path}` },
        /^https?:\/\//.test(entry.path) ? [pill("outbound", ""), " "] : null, // a webhook or upload attempt
        h("span", { class: "method" }, entry.method), " ", h("span", { class: "path" }, entry.path)),
      h("td", { class: "status" }, entryStatus(entry), marks(entry).map((mark) => [" ", mark])),
      h("td", { class: "num cost" }, costOf(entry)),
      h("td", {}, thumbs(entryImages(entry), "small"),
        inputs.length ? h("div", { class: "inputs-count muted", title: inputs.map((input) => input.role).join(", ") }, `${inputs.length} input${inputs.length > 1 ? "s" : ""}`) : null),
    );
    return row;
  });
  fill($("#journal tbody"), rows, $("#journal-empty"));
  drawDetail();
}

function select(seq) {
  state.selected = seq;
  for (const row of document.querySelectorAll("#journal tbody tr")) {
    row.classList.toggle("selected", Number(row.dataset.seq) === seq);
  }
  drawDetail();
}

function section(part, title, ...content) {
  return h("section", { "data-part": part }, h("h3", {}, title), ...content);
}

function fieldTable(object) {
  const rows = Object.entries(object)
    .filter(([, value]) => value !== null && value !== undefined && !(Array.isArray(value) && !value.length))
    .filter(([, value]) => !(typeof value === "object" && !Array.isArray(value) && !Object.keys(value).length))
    .map(([name, value]) =>
      h("tr", {}, h("th", {}, name), h("td", {}, typeof value === "object" ? JSON.stringify(value) : String(value))),
    );
  return h("table", { class: "fields" }, h("tbody", {}, rows));
}

function costSection(cost, ledger) {
  const parts = [];
  if (cost) {
    const amount = cost.usd != null ? `$${cost.usd}` : cost.credits != null ? `${cost.credits} credits` : "not priced";
    parts.push(h("p", { class: "amount" }, amount, cost.billed_size ? h("span", { class: "muted" }, ` billed as ${cost.billed_quality} ${cost.billed_size}`) : ""));
    if (cost.tokens) parts.push(fieldTable(cost.tokens));
    if (cost.notes && cost.notes.length) parts.push(h("ul", { class: "notes" }, cost.notes.map((note) => h("li", {}, note))));
  }
  if (ledger.length) {
    parts.push(h("table", { class: "fields" }, h("tbody", {}, ledger.map((line) =>
      h("tr", {}, h("th", {}, line.account_id), h("td", { class: "num" }, `${line.amount} ${line.currency}`),
        h("td", { class: "muted" }, `balance ${line.balance_after}`))))));
  }
  return parts.length ? section("cost", "Cost", ...parts) : null;
}

function drawDetail() {
  const pane = $("#detail");
  const entry = state.entries.find((item) => item.seq === state.selected);
  if (!entry) {
    pane.replaceChildren(h("p", { class: "empty" }, "Select a request to see its native body, canonical request, cost and images."));
    return;
  }
  const notes = entry.notes || [];
  const canonical = notes.find((note) => note.canonical);
  const cost = notes.find((note) => note.cost);
  const other = notes.map((note) => Object.fromEntries(Object.entries(note).filter(([key]) => key !== "canonical" && key !== "cost")))
    .filter((note) => Object.keys(note).length);
  const images = entryImages(entry);
  const inputs = inputsOf(entry);
  const request = entry.request || {};
  const response = entry.response || {};
  const parts = [
    h("header", {},
      h("h2", {}, `#${entry.seq} `, h("span", { class: "method" }, entry.method), " ", h("span", { class: "path" }, entry.path)),
      h("p", {}, entryStatus(entry), marks(entry).map((mark) => [" ", mark]), " ", providerTag(entry.provider), " ",
        clockTime(entry.at), h("span", { class: "muted" }, ` · ${entry.duration_ms} ms real · ${entry.route || "no route"}`))),
    images.length ? section("images", "Images", thumbs(images, "large")) : null,
    inputs.length ? section("inputs", "Input images", inputTiles(inputs)) : null,
    costSection(cost && cost.cost, entry.ledger || []),
    canonical ? section("canonical", "Canonical request", fieldTable(canonical.canonical)) : null,
    other.length ? section("notes", "Notes", other.map((note) => pretty(note))) : null,
    section("request", "Request (native)", Object.keys(request.query || {}).length ? fieldTable(request.query) : null,
      request.body !== null && request.body !== undefined ? pretty(request.body)
        : h("p", { class: "muted" }, request.form ? "" : `no JSON body (${request.content_type || "none"}, ${request.size ?? 0} bytes)`),
      request.form ? pretty({ form: request.form, files: request.files }) : null,
      h("details", {}, h("summary", {}, "headers"), fieldTable(request.headers || {}))),
    section("answer", "Answer", response.body !== null && response.body !== undefined ? pretty(response.body)
      : pretty(Object.fromEntries(Object.entries(response).filter(([key]) => key !== "headers"))),
      h("details", {}, h("summary", {}, "headers"), fieldTable(response.headers || {}))),
  ];
  pane.replaceChildren(...parts.filter(Boolean));
}

// ---------------------------------------------------------------------------------------------------
// Jobs and tasks: the states the answers and the webhook events reported, in virtual time

function jobsFrom(entries, deliveries) {
  const jobs = new Map();
  const see = (provider, at, observation, source) => {
    const key = `${provider}|${observation.id}`;
    if (!jobs.has(key)) jobs.set(key, { provider, id: observation.id, history: [], images: [] });
    const job = jobs.get(key);
    job.history.push({ at, state: observation.state, progress: observation.progress, detail: observation.detail, source });
    job.images.push(...observation.images);
  };
  for (const entry of entries) {
    const response = entry.response || {};
    const websocket = entry.method === "WEBSOCKET";
    const answers = websocket ? response.frames || [] : [response.body];
    for (const answer of answers) {
      for (const seen of tasksIn(entry.provider, answer)) see(entry.provider, entry.at, seen, `${websocket ? "WebSocket" : "answer"} #${entry.seq}`);
    }
  }
  for (const delivery of deliveries) {
    for (const attempt of delivery.attempts.length ? [delivery.attempts[0]] : []) {
      for (const seen of tasksIn(delivery.provider, delivery.body)) see(delivery.provider, attempt.at, seen, `${delivery.kind} ${delivery.event || ""}`.trim());
    }
  }
  for (const job of jobs.values()) {
    job.history.sort((a, b) => new Date(a.at) - new Date(b.at));
    job.history = job.history.filter((step, i, all) => i === 0 || step.state !== all[i - 1].state || step.progress !== all[i - 1].progress);
    job.images = distinct(job.images);
  }
  return [...jobs.values()].sort((a, b) => new Date(b.history[0].at) - new Date(a.history[0].at));
}

async function loadJobs() {
  const [journalText, webhooksText] = await Promise.all([api("journal"), api("webhooks")]);
  if (!fresh("jobs", journalText, webhooksText)) return;
  const jobs = jobsFrom(JSON.parse(journalText).entries, JSON.parse(webhooksText).deliveries);
  $("#count-jobs").textContent = String(jobs.length);
  fill($("#jobs tbody"), jobs.map((job) => {
    const last = job.history[job.history.length - 1];
    return h("tr", { "data-job": job.id },
      h("td", {}, providerTag(job.provider)),
      h("td", { class: "mono", title: job.id }, short(job.id)),
      h("td", { class: "job-state" }, statePill(last.state)),
      h("td", {}, h("ol", { class: "timeline" }, job.history.map((step) =>
        h("li", { title: `${step.at} (${step.source})` }, statePill(step.state),
          step.progress != null ? h("span", { class: "muted" }, ` ${step.progress}%`) : "",
          step.detail ? h("span", { class: "muted detail-note" }, ` ${step.detail}`) : "",
          " ", clockTime(step.at), h("span", { class: "muted" }, ` ${seconds(job.history[0].at, step.at)} · ${step.source}`))))),
      h("td", {}, thumbs(job.images, "small")));
  }), $("#jobs-empty"));
}

// ---------------------------------------------------------------------------------------------------
// Ledger and balances

function providerOfLines(entries) {
  const owner = new Map();
  for (const entry of entries) {
    for (const line of entry.ledger || []) owner.set(`${line.account_id}|${line.at}|${line.amount}|${line.currency}`, entry.provider);
  }
  return (line) =>
    owner.get(`${line.account_id}|${line.at}|${line.amount}|${line.currency}`) ||
    (line.memo.startsWith("pixelmock admin") ? "admin" : Object.keys(state.providers).find((name) => line.memo.startsWith(`${name} `)) || "not in the journal");
}

function decimal(text) {
  // exact sums of decimal strings: scaled BigInt arithmetic
  const [whole, fraction = ""] = text.replace("-", "").split(".");
  const sign = text.startsWith("-") ? -1n : 1n;
  return { units: sign * BigInt(whole + fraction.padEnd(12, "0")), scale: 12 };
}

function money(units) {
  const sign = units < 0n ? "-" : "";
  const digits = (units < 0n ? -units : units).toString().padStart(13, "0");
  const fraction = digits.slice(-12).replace(/0+$/, "");
  return `${sign}${digits.slice(0, -12)}${fraction ? `.${fraction}` : ""}`;
}

async function loadLedger() {
  const [accountsText, ledgerText, journalText] = await Promise.all([api("accounts"), api("ledger"), api("journal")]);
  if (!fresh("ledger", accountsText, ledgerText, journalText)) return;
  const accounts = JSON.parse(accountsText).accounts;
  const lines = JSON.parse(ledgerText).lines;
  const providerOf = providerOfLines(JSON.parse(journalText).entries);
  fill($("#balances tbody"), accounts.map((account) => h("tr", {},
    h("td", { class: "mono" }, account.id),
    h("td", {}, pill(account.status, account.status === "active" ? "good" : "bad")),
    h("td", {}, Object.entries(account.balances).map(([currency, amount]) => h("span", { class: "balance" }, h("b", {}, amount), ` ${currency}`))))));
  const totals = new Map();
  for (const line of lines) {
    const provider = providerOf(line);
    const key = `${line.account_id}|${provider}|${line.currency}`;
    const total = totals.get(key) || { account: line.account_id, provider, currency: line.currency, debited: 0n, credited: 0n, lines: 0 };
    const { units } = decimal(line.amount);
    if (units < 0n) total.debited -= units;
    else total.credited += units;
    total.lines += 1;
    totals.set(key, total);
  }
  fill($("#spend tbody"), [...totals.values()].map((total) => h("tr", {},
    h("td", { class: "mono" }, total.account),
    h("td", {}, providerTag(total.provider)),
    h("td", {}, total.currency),
    h("td", { class: "num" }, money(total.debited)),
    h("td", { class: "num" }, money(total.credited)),
    h("td", { class: "num" }, money(total.credited - total.debited)),
    h("td", { class: "num" }, total.lines))));
  fill($("#ledger tbody"), [...lines].reverse().map((line) => h("tr", {},
    h("td", {}, clockTime(line.at)),
    h("td", { class: "mono" }, line.account_id),
    h("td", {}, providerTag(providerOf(line))),
    h("td", { class: `num ${line.amount.startsWith("-") ? "debit" : "credit"}` }, `${line.amount} ${line.currency}`),
    h("td", { class: "num" }, line.balance_after),
    h("td", {}, line.memo))));
}

// ---------------------------------------------------------------------------------------------------
// Webhooks and uploads

async function loadWebhooks() {
  const text = await api("webhooks");
  if (!fresh("webhooks", text)) return;
  const list = JSON.parse(text).deliveries;
  $("#count-webhooks").textContent = list.length ? String(list.length) : "";
  fill($("#webhooks tbody"), [...list].reverse().map((delivery) => h("tr", {},
    h("td", {}, clockTime(delivery.created_at)),
    h("td", {}, providerTag(delivery.provider)),
    h("td", {}, delivery.kind, delivery.event ? h("span", { class: "muted" }, ` ${delivery.event}`) : ""),
    h("td", { class: "mono", title: delivery.group || "" }, delivery.group ? short(delivery.group) : ""),
    h("td", { class: "url" }, `${delivery.method} ${delivery.url}`),
    h("td", {}, statePill(delivery.status),
      delivery.next_attempt_at ? h("div", { class: "muted" }, "next ", clockTime(delivery.next_attempt_at)) : ""),
    h("td", {},
      h("ol", { class: "attempts" }, delivery.attempts.map((attempt) => h("li", {}, clockTime(attempt.at), " ",
        attemptPill(attempt.status, attempt.error), attempt.error ? h("span", { class: "muted" }, ` ${attempt.error}`) : ""))),
      h("details", {}, h("summary", {}, "body"), pretty(delivery.body))))), $("#webhooks-empty"));
}

// ---------------------------------------------------------------------------------------------------
// Fault rules

async function loadFaults() {
  const text = await api("faults");
  if (!fresh("faults", text)) return;
  const faults = JSON.parse(text);
  $("#count-faults").textContent = faults.rules.length ? String(faults.rules.length) : "";
  fill($("#faults tbody"), faults.rules.map((rule) => {
    const matches = ["provider", "operation", "model"].filter((key) => rule[key]).map((key) => `${key}=${rule[key]}`);
    const fires = rule.nth ? `call ${rule.nth}${rule.times > 1 ? ` (+${rule.times - 1})` : ""}`
      : rule.probability ? `p=${rule.probability} seed ${rule.seed}` : rule.times ? `${rule.times} calls` : "every call";
    return h("tr", {},
      h("td", { class: "mono" }, rule.id),
      h("td", {}, pill(rule.kind, "warn"), Object.keys(rule.params || {}).length ? h("span", { class: "muted" }, ` ${JSON.stringify(rule.params)}`) : ""),
      h("td", {}, matches.join(" ") || "every request"),
      h("td", {}, fires),
      h("td", { class: "num" }, rule.calls),
      h("td", { class: "num" }, rule.fired),
      h("td", {}, h("button", { type: "button", onclick: () => act(() => api(`faults/${encodeURIComponent(rule.id)}`, { method: "DELETE" })) }, "remove")));
  }), $("#faults-empty"));
  $("#fault-kinds").replaceChildren(...Object.entries(faults.kinds).flatMap(([provider, kinds]) => [
    h("dt", {}, providerTag(provider)),
    h("dd", {}, kinds.map((kind) => pill(kind, ""))),
  ]));
}

// ---------------------------------------------------------------------------------------------------
// Clock, latency, polling

async function loadClock() {
  const [clockText, latencyText] = await Promise.all([api("clock"), api("latency")]);
  if (fresh("clock", clockText)) {
    const clock = JSON.parse(clockText);
    $("#clock-now").textContent = clock.now.replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC");
    $("#clock-now").setAttribute("datetime", clock.now);
    const offset = clock.offset_seconds;
    $("#clock-offset").textContent = Math.abs(offset) < 0.5 ? "" : `${offset > 0 ? "+" : "−"}${formatSpan(Math.abs(offset))} from real time`;
  }
  if (fresh("latency", latencyText)) {
    const latency = JSON.parse(latencyText);
    $("#latency").textContent = latency.clock_frozen ? `${latency.profile} · clock frozen` : `${latency.profile} latency`;
    $("#latency").className = `pill ${latency.clock_frozen ? "warn" : ""}`;
  }
}

function formatSpan(total) {
  const days = Math.floor(total / 86400);
  const rest = new Date((total % 86400) * 1000).toISOString().slice(11, 19);
  if (!days) return rest;
  return rest === "00:00:00" ? `${days} d` : `${days} d ${rest}`;
}

// What Reset does, asked before it is done: on a shared store (Redis) every worker and host using it
// starts over, not only the one serving this page.
function resetWarning(shared) {
  const what = "jobs, tasks, files, journal, ledger, accounts, key changes, webhook deliveries and fault rules are forgotten, and the virtual clock and latency profile go back to their start";
  return shared
    ? `Reset every worker? The state store is shared (Redis): ${what} for every worker and host using it.`
    : `Reset this emulator? Its ${what}.`;
}

const LOADERS = { requests: loadRequests, jobs: loadJobs, ledger: loadLedger, webhooks: loadWebhooks, faults: loadFaults };

let timer = null;
let running = null;

async function refresh() {
  if (running) return running;
  running = (async () => {
    try {
      await Promise.all([loadClock(), LOADERS[state.tab]()]);
      report(null);
    } catch (error) {
      report(error);
    } finally {
      running = null;
    }
  })();
  return running;
}

function schedule() {
  clearTimeout(timer);
  if ($("#live").checked && !document.hidden) timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, POLL_MS);
}

async function act(action) {
  try {
    await action();
    report(null);
  } catch (error) {
    report(error);
  }
  await running;
  state.seen.clear();
  await refresh();
  schedule();
}

function showTab(name) {
  state.tab = name;
  for (const button of document.querySelectorAll(".tabs button")) button.setAttribute("aria-selected", String(button.dataset.tab === name));
  for (const panel of document.querySelectorAll(".tab")) panel.hidden = panel.id !== `tab-${name}`;
  state.seen.clear();
  refresh();
}

async function start() {
  const index = JSON.parse(await api(""));
  state.providers = index.providers;
  for (const provider of JSON.parse(await api("providers")).providers) state.colours[provider.name] = provider.colour;
  const select = $("#filters select[name=provider]");
  select.append(...Object.keys(index.providers).map((name) => h("option", { value: name }, name)));
  for (const button of document.querySelectorAll(".tabs button")) button.addEventListener("click", () => showTab(button.dataset.tab));
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => act(() => api("clock/advance", { method: "POST", body: { seconds: Number(button.dataset.advance) } })));
  }
  $("#advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api("clock/advance", { method: "POST", body: { seconds: Number($("#advance-seconds").value) } }));
  });
  const warning = resetWarning(index.shared_store);
  $("#reset").title = warning;
  $("#reset").addEventListener("click", () => {
    if (!window.confirm(warning)) return;
    act(() => {
      state.selected = null;
      return api("reset", { method: "POST" });
    });
  });
  let typing = null;
  const refilter = () => {
    clearTimeout(typing);
    typing = setTimeout(() => act(async () => {}), 250);
  };
  $("#filters").addEventListener("input", refilter);
  $("#filters").addEventListener("reset", () => setTimeout(refilter));
  $("#live").addEventListener("change", schedule);
  document.addEventListener("visibilitychange", schedule);
  await refresh();
  schedule();
  document.body.dataset.ready = "true";
}

start().catch(report);
