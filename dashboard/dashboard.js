// runbridge dashboard: one page over the public HTTP API (starters/openapi.json), nothing else.
// Views are hash routes: #/runs, #/runs/<id>, #/connections, #/connections/<name>,
// #/connections/<name>/run/<job>[?from=<run id>]. Data is rendered with textContent only, never as HTML.
"use strict";

(function () {
  const API = location.pathname.replace(/\/dashboard\/?$/, "");
  const STATUSES = ["Starting", "Running", "Success", "Failed", "Cancelled", "Unknown"];
  const TERMINAL = new Set(["Success", "Failed", "Cancelled"]);
  const REFRESH_MS = 3000;
  const PAGE_SIZE = 20;
  // The key the page was opened with (?code=, as Azure asks for it); every API call sends it as a header.
  const functionKey = new URLSearchParams(location.search).get("code") || "";
  let refreshTimer = null;
  let renderSerial = 0;
  const jobCache = new Map(); // "<connection>/<job>" -> job, from the discovery pages seen

  // ---- HTTP -------------------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (functionKey) headers["x-functions-key"] = functionKey;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "same-origin",
      });
    } catch (err) {
      return { status: 0, body: { error: { code: "Unreachable", message: "The app did not answer: " + err.message } } };
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    return { status: response.status, body: data };
  }

  function errorOf(answer) {
    const error = answer.body && answer.body.error;
    if (error && error.message) return error;
    return { code: "HTTP" + answer.status, message: "The app answered HTTP " + answer.status + "." };
  }

  // ---- DOM helpers ------------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "class") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, String(value));
    }
    append(node, children);
    return node;
  }

  function badge(status) {
    return h("span", { class: "badge " + (STATUSES.includes(status) ? status : "Unknown"), "data-status": status },
      status || "?");
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return isNaN(date) ? String(iso) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function monitorLink(url) {
    if (!url || !/^https?:\/\//i.test(url)) return h("span", { class: "muted" }, "none yet");
    return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", "data-testid": "monitor-link" }, "open on the platform");
  }

  function runLink(id) {
    return h("a", { href: "#/runs/" + encodeURIComponent(id) }, id);
  }

  function show(...nodes) {
    const view = document.getElementById("view");
    view.replaceChildren(...nodes.flat().filter(Boolean));
  }

  function stamp() {
    document.getElementById("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
  }

  // ---- routing ----------------------------------------------------------------------------------

  function route() {
    const path = (location.hash.replace(/^#/, "") || "/runs").split("?")[0];
    const query = new URLSearchParams(location.hash.split("?")[1] || "");
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    return { parts, query };
  }

  function go(hash) {
    if (location.hash === hash) render(); else location.hash = hash;
  }

  function render() {
    clearTimeout(refreshTimer);
    const serial = ++renderSerial;
    const { parts, query } = route();
    for (const link of document.querySelectorAll("nav a")) {
      link.classList.toggle("active", link.dataset.nav === parts[0]);
    }
    const current = () => serial === renderSerial;
    if (parts[0] === "runs" && parts.length === 2) return runView(parts[1], current);
    if (parts[0] === "connections" && parts.length === 1) return connectionsView(current);
    if (parts[0] === "connections" && parts.length === 2) return jobsView(parts[1], query, current);
    if (parts[0] === "connections" && parts.length === 4 && parts[2] === "run") {
      return runFormView(parts[1], parts[3], query.get("from"), current);
    }
    return runsView(query, current);
  }

  // Refresh the view later, unless the user has moved on; never while they are in one of its fields.
  function later(current, fn) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (!current()) return;
      const focused = document.activeElement;
      if (focused && focused.closest && focused.closest("#view select, #view input, #view textarea")) {
        later(current, fn);
        return;
      }
      fn();
    }, REFRESH_MS);
  }

  // ---- runs list --------------------------------------------------------------------------------

  let connectionList = null;
  async function knownConnections() {
    if (connectionList === null) {
      const answer = await api("GET", "/connections");
      connectionList = answer.status === 200 ? answer.body.connections : [];
    }
    return connectionList;
  }

  async function runsView(query, current) {
    const filters = { status: query.get("status") || "", jobType: query.get("jobType") || "",
                      connection: query.get("connection") || "" };
    const pages = (query.get("pages") || "").split(",").filter(Boolean); // tokens of the pages before this one
    const token = query.get("page") || "";
    const connections = await knownConnections();
    const jobTypes = [...new Set(connections.flatMap((c) => c.jobTypes))].sort();
    const auto = h("input", { type: "checkbox", id: "auto-refresh", checked: query.get("auto") !== "off" });
    const pick = (name, options, label) => h("label", {}, label,
      h("select", { name, "data-filter": name, onchange: (e) => setQuery({ [name]: e.target.value, page: "", pages: "" }) },
        h("option", { value: "" }, "any"),
        options.map((o) => h("option", { value: o, selected: filters[name] === o }, o))));
    const toolbar = h("div", { class: "toolbar" },
      pick("status", STATUSES, "Status"), pick("jobType", jobTypes, "Job type"),
      pick("connection", connections.map((c) => c.name), "Connection"),
      h("label", { class: "inline" }, h("span", {}, auto, " auto-refresh")));
    auto.addEventListener("change", () => setQuery({ auto: auto.checked ? "" : "off" }));

    const size = Math.min(100, Math.max(1, Number(query.get("pageSize")) || PAGE_SIZE));
    const params = new URLSearchParams({ pageSize: String(size) });
    for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
    if (token) params.set("page", token);
    const answer = await api("GET", "/runs?" + params);
    if (!current()) return;
    if (answer.status !== 200) {
      show(h("h1", {}, "Runs"), toolbar, h("div", { class: "error-box", role: "alert" }, errorOf(answer).message));
      return;
    }
    const runs = answer.body.runs;
    const rows = runs.map((run) => h("tr", { "data-run": run.id },
      h("td", {}, runLink(run.id)), h("td", {}, badge(run.status)), h("td", {}, run.jobType),
      h("td", {}, run.connection), h("td", { class: "value" }, run.job), h("td", {}, when(run.createdAt)),
      h("td", {}, when(run.endedAt))));
    const table = runs.length
      ? h("table", { id: "runs" },
          h("thead", {}, h("tr", {}, ["Run", "Status", "Job type", "Connection", "Job", "Created", "Ended"].map((t) => h("th", {}, t)))),
          h("tbody", {}, rows))
      : h("p", { class: "muted", id: "runs-empty" }, "No runs on this page.");
    const pager = h("div", { class: "pager" },
      h("button", { id: "prev-page", disabled: !token,
        onclick: () => setQuery({ page: pages[pages.length - 1] || "", pages: pages.slice(0, -1).join(",") }) }, "Previous"),
      h("button", { id: "next-page", disabled: !answer.body.nextPage,
        onclick: () => setQuery({ page: answer.body.nextPage, pages: [...pages, token].join(",") }) }, "Next"));
    show(h("h1", {}, "Runs"), toolbar, table, pager);
    stamp();
    if (auto.checked) later(current, render);
  }

  function setQuery(changes) {
    const { parts, query } = route();
    for (const [key, value] of Object.entries(changes)) {
      if (value) query.set(key, value); else query.delete(key);
    }
    const text = query.toString();
    go("#/" + parts.map(encodeURIComponent).join("/") + (text ? "?" + text : ""));
  }

  // ---- one run ----------------------------------------------------------------------------------

  async function runView(id, current) {
    const [answer, history] = await Promise.all([
      api("GET", "/runs/" + encodeURIComponent(id)),
      api("GET", "/runs/" + encodeURIComponent(id) + "/history"),
    ]);
    if (!current()) return;
    if (answer.status !== 200) {
      show(h("h1", {}, "Run ", id), h("div", { class: "error-box", role: "alert" }, errorOf(answer).message));
      return;
    }
    const run = answer.body;
    const live = !TERMINAL.has(run.status);
    const again = `#/connections/${encodeURIComponent(run.connection)}/run/${encodeURIComponent(run.job)}` +
      "?from=" + encodeURIComponent(run.id);
    const title = h("h1", {}, "Run ", h("span", { id: "run-id" }, run.id), badge(run.status),
      live ? h("button", { id: "cancel-run", class: "danger", onclick: () => cancelRun(run) }, "Cancel")
        : h("a", { id: "run-again", class: "button", href: again }, "Run again"));
    const fields = h("dl", { class: "fields", id: "run-fields" },
      field("Job type", run.jobType), field("Connection", run.connection), field("Job", run.job),
      field("Remote status", run.remoteStatus || "none yet", "remote-status"),
      field("Remote run", run.remoteRunId || "none yet"), field("Monitor", monitorLink(run.monitorUrl)),
      field("Created", when(run.createdAt)), field("Started", when(run.startedAt)),
      field("Ended", when(run.endedAt)), field("Polls", run.polls),
      run.usage ? field("Tokens", `${run.usage.totalTokens} (prompt ${run.usage.promptTokens}, completion ` +
        `${run.usage.completionTokens})`, "usage") : null);
    const error = run.error
      ? h("div", { class: "error-box", id: "run-error", role: "alert" },
          h("strong", {}, run.error.code), ": ", run.error.message)
      : null;
    const parameters = (run.parameters || []).map((p) => h("tr", {},
      h("td", {}, p.name), h("td", {}, p.direction), h("td", { class: "value" }, valueText(p.value))));
    const outputs = Object.entries(run.outputs || {}).map(([name, value]) => h("tr", {},
      h("td", {}, name), h("td", { class: "value" }, valueText(value))));
    const timeline = history.status === 200 ? history.body.timeline : [];
    show(title, fields, error,
      h("h2", {}, "Timeline"), drawTimeline(timeline, live, run.steps), timelineTable(timeline),
      h("h2", {}, "Parameters"),
      parameters.length ? h("table", { id: "parameters" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Direction"), h("th", {}, "Value"))),
        h("tbody", {}, parameters)) : h("p", { class: "muted" }, "No parameters."),
      h("h2", {}, "Outputs"),
      outputs.length ? h("table", { id: "outputs" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Value"))), h("tbody", {}, outputs))
        : h("p", { class: "muted" }, live ? "None yet." : "None."));
    stamp();
    if (live) later(current, render);
  }

  function field(label, value, testid) {
    return [h("dt", {}, label), h("dd", { "data-testid": testid }, value instanceof Node ? value : String(value ?? ""))];
  }

  function valueText(value) {
    if (value === undefined || value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  async function cancelRun(run) {
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-text").textContent =
      "Cancel run " + run.id + "? runbridge asks " + run.connection + " to stop the remote job; this cannot be undone.";
    dialog.returnValue = "";
    dialog.showModal();
    await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
    if (dialog.returnValue !== "yes") return;
    const answer = await api("POST", "/runs/" + encodeURIComponent(run.id) + "/cancel");
    if (answer.status !== 202) {
      document.getElementById("view").prepend(h("div", { class: "error-box", role: "alert" }, errorOf(answer).message));
      return;
    }
    render();
  }

  // ---- timeline ---------------------------------------------------------------------------------

  const MARKS = {
    started: "mark", continued: "mark", submitted: "mark", outputs: "mark",
    submit_retry: "warn", submit_wait: "warn", poll_error: "warn", cancel_failed: "warn", cancel_requested: "warn", cancel_sent: "warn",
    submit_failed: "bad", failed: "bad",
  };

  const STEP_ROW = 18; // height of one step's bar row under the run's lane

  function stepTimes(steps) {
    return steps.flatMap((step) => [Date.parse(step.startedAt), Date.parse(step.endedAt)]).filter((t) => !isNaN(t));
  }

  function drawTimeline(points, live, stepsRead) {
    const steps = (stepsRead && Array.isArray(stepsRead.items)) ? stepsRead.items : [];
    const omitted = stepsRead && stepsRead.omitted > 0 ? stepsRead.omitted : 0;
    const lanes = 120, rows = steps.length + (omitted ? 1 : 0);
    const width = 1000, height = lanes + (rows ? rows * STEP_ROW + 12 : 0), left = 20, right = 20, lane = 56;
    const svg = s("svg", { class: "timeline", id: "timeline", viewBox: `0 0 ${width} ${height}`, width: "100%",
                           role: "img", "aria-label": "run timeline" });
    const times = points.map((p) => Date.parse(p.time)).concat(stepTimes(steps)).filter((t) => !isNaN(t));
    if (!times.length) {
      svg.appendChild(s("text", { x: left, y: lane }, "No history yet."));
      return svg;
    }
    const first = Math.min(...times), last = Math.max(...times, first + 1);
    const x = (t) => left + ((t - first) / (last - first)) * (width - left - right);
    svg.appendChild(s("line", { class: "lane", x1: left, y1: lane, x2: width - right, y2: lane }));
    svg.appendChild(s("text", { x: left, y: lanes - 8 }, when(new Date(first).toISOString())));
    svg.appendChild(s("text", { x: width - right, y: lanes - 8, "text-anchor": "end" },
      when(new Date(last).toISOString()) + (live ? " (live)" : "")));
    const labelEnds = [-Infinity, -Infinity]; // two label rows, so moments close in time keep their labels
    points.forEach((point, index) => {
      const t = Date.parse(point.time);
      if (isNaN(t)) return;
      const cx = x(t);
      const tip = s("title", {}, `${when(point.time)} · ${point.label}`);
      let shape;
      if (point.kind === "poll") {
        shape = s("circle", { cx, cy: lane, r: 5, class: "kind-poll " + (point.status || "Unknown") });
      } else if (point.kind === "ended") {
        shape = s("rect", { x: cx - 6, y: lane - 6, width: 12, height: 12, class: point.status || "Unknown" });
      } else if (point.kind === "continued") {
        shape = s("line", { class: "cut", x1: cx, y1: lane - 24, x2: cx, y2: lane + 24 });
      } else {
        const c = MARKS[point.kind] || "mark";
        shape = s("path", { d: `M ${cx} ${lane - 17} l 6 -9 l -12 0 z`, class: c });
      }
      shape.setAttribute("data-kind", point.kind);
      shape.setAttribute("data-index", String(index));
      shape.appendChild(tip);
      svg.appendChild(shape);
      const row = labelEnds.findIndex((end) => cx - end > 110);
      if (point.kind !== "poll" && row >= 0) { // labels for the moments, not for every poll
        svg.appendChild(s("text", { x: cx, y: row === 0 ? lane - 30 : lane + 26,
                                    "text-anchor": cx > width - 120 ? "end" : "start" }, point.kind.replace(/_/g, " ")));
        labelEnds[row] = cx;
      }
    });
    drawSteps(svg, steps, omitted, x, lanes, first, last);
    const legend = h("div", { class: "legend" },
      STATUSES.map((status) => h("span", {}, h("span", { class: "swatch " + status }), status)),
      h("span", {}, "▼ submit, cancel, outputs"), h("span", {}, "┆ continued as new"), h("span", {}, "■ end"),
      steps.length ? h("span", {}, "▬ steps (hover for times and error)") : null);
    return h("div", {}, svg, legend);
  }

  // One bar per step under the run's lane, coloured by its status. A step without a start time (Abacus
  // step versions have none once ended) starts where the step before it ended; one still going runs to
  // the timeline's end. Names and errors are platform text: rendered as text nodes only.
  function drawSteps(svg, steps, omitted, x, top, first, last) {
    let previousEnd = first;
    steps.forEach((step, index) => {
      const y = top + index * STEP_ROW;
      const start = Date.parse(step.startedAt), end = Date.parse(step.endedAt);
      const from = !isNaN(start) ? start : (!isNaN(end) ? Math.min(previousEnd, end) : previousEnd);
      const to = !isNaN(end) ? end : last;
      previousEnd = Math.max(previousEnd, to);
      const status = STATUSES.includes(step.status) ? step.status : "Unknown";
      const x1 = x(from), x2 = Math.max(x(to), x1 + 3);
      const lines = [`${step.name} · ${step.status}` + (step.remoteStatus ? ` (${step.remoteStatus})` : ""),
        "started " + (when(step.startedAt) || "unknown"), "ended " + (when(step.endedAt) || (step.status === "Running" ? "not yet" : "unknown"))];
      if (step.error && step.error.message) lines.push("error: " + (step.error.code ? step.error.code + ": " : "") + step.error.message);
      const bar = s("rect", { x: x1, y: y + 3, width: x2 - x1, height: STEP_ROW - 6, rx: 3, class: "step " + status,
                              "data-step": String(index), "data-status": step.status },
        s("title", {}, lines.join("\n")));
      svg.appendChild(bar);
      const right = x2 > 760;
      svg.appendChild(s("text", { x: right ? x1 - 4 : x2 + 4, y: y + STEP_ROW - 5, "text-anchor": right ? "end" : "start",
                                  class: "step-label" }, step.name));
    });
    if (omitted) {
      svg.appendChild(s("text", { x: 20, y: top + steps.length * STEP_ROW + STEP_ROW - 5, id: "steps-omitted" },
        `${omitted} more step${omitted === 1 ? "" : "s"} not shown`));
    }
  }

  let detailsOpen = false; // kept across the run page's refreshes
  function timelineTable(points) {
    if (!points.length) return null;
    const details = h("details", { id: "timeline-details", open: detailsOpen });
    details.addEventListener("toggle", () => { detailsOpen = details.open; });
    return append(details, [h("summary", {}, `${points.length} moments`),
      h("table", {}, h("tbody", {}, points.map((p) => h("tr", { "data-kind": p.kind },
        h("td", {}, when(p.time)), h("td", {}, p.kind.replace(/_/g, " ")), h("td", {}, p.label)))))]);
  }

  // ---- discovery --------------------------------------------------------------------------------

  async function connectionsView(current) {
    const answer = await api("GET", "/connections");
    if (!current()) return;
    if (answer.status !== 200) {
      show(h("h1", {}, "Connections"), h("div", { class: "error-box", role: "alert" }, errorOf(answer).message));
      return;
    }
    connectionList = answer.body.connections;
    const rows = connectionList.map((c) => h("tr", { "data-connection": c.name },
      h("td", {}, h("a", { href: "#/connections/" + encodeURIComponent(c.name) }, c.name)),
      h("td", {}, c.type), h("td", {}, c.jobTypes.join(", ")),
      h("td", {}, h("a", { href: "#/runs?connection=" + encodeURIComponent(c.name) }, "runs"))));
    show(h("h1", {}, "Connections"),
      rows.length ? h("table", { id: "connections" },
        h("thead", {}, h("tr", {}, ["Name", "Platform", "Job types", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows)) : h("p", { class: "muted" }, "No connection is configured (CONNECTIONS__<name>__type settings)."));
    stamp();
  }

  async function jobsView(connection, query, current) {
    const token = query.get("page") || "";
    const params = new URLSearchParams({ pageSize: "50" });
    if (token) params.set("page", token);
    const answer = await api("GET", "/connections/" + encodeURIComponent(connection) + "/jobs?" + params);
    if (!current()) return;
    const heading = h("h1", {}, "Jobs on ", connection);
    if (answer.status !== 200) {
      show(heading, h("div", { class: "error-box", role: "alert" }, errorOf(answer).message));
      return;
    }
    const rows = answer.body.jobs.map((job) => {
      jobCache.set(connection + "/" + job.job, job);
      const inputs = job.parameters.filter((p) => p.direction !== "Output").map((p) => p.name);
      const outputs = job.parameters.filter((p) => p.direction !== "Input").map((p) => p.name);
      return h("tr", { "data-job": job.job },
        h("td", {}, h("strong", {}, job.displayName || job.job), h("div", { class: "muted value" }, job.job)),
        h("td", {}, job.description || ""), h("td", {}, inputs.join(", ")), h("td", {}, outputs.join(", ")),
        h("td", {}, monitorLink(job.monitorUrl)),
        h("td", {}, h("a", { href: `#/connections/${encodeURIComponent(connection)}/run/${encodeURIComponent(job.job)}`,
          class: "run-link" }, "Run…")));
    });
    const next = answer.body.nextPage;
    show(heading,
      rows.length ? h("table", { id: "jobs" },
        h("thead", {}, h("tr", {}, ["Job", "Description", "Inputs", "Outputs", "Monitor", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, rows)) : h("p", { class: "muted" }, "Nothing to run on this connection."),
      h("div", { class: "pager" }, h("button", { disabled: !next, onclick: () => setQuery({ page: next }) }, "More")));
    stamp();
  }

  async function findJob(connection, job) {
    const key = connection + "/" + job;
    let token = "";
    for (let page = 0; page < 10 && !jobCache.has(key); page++) {
      const params = new URLSearchParams({ pageSize: "100" });
      if (token) params.set("page", token);
      const answer = await api("GET", "/connections/" + encodeURIComponent(connection) + "/jobs?" + params);
      if (answer.status !== 200) return { error: errorOf(answer) };
      for (const found of answer.body.jobs) jobCache.set(connection + "/" + found.job, found);
      token = answer.body.nextPage;
      if (!token) break;
    }
    return jobCache.has(key) ? { job: jobCache.get(key) } : { error: { message: "No job " + job + " on " + connection + "." } };
  }

  // ---- run form ---------------------------------------------------------------------------------

  // `from`: a run whose parameter values fill the form (its Inputs, and its InputOutputs as they ended)
  async function runFormView(connection, jobName, from, current) {
    const [found, connections, earlier] = await Promise.all([findJob(connection, jobName), knownConnections(),
      from ? api("GET", "/runs/" + encodeURIComponent(from)) : null]);
    if (!current()) return;
    if (found.error) {
      show(h("h1", {}, "Run ", jobName), h("div", { class: "error-box", role: "alert" }, found.error.message));
      return;
    }
    const job = found.job;
    const heading = h("h1", {}, "Run ", job.displayName || job.job, h("span", { class: "muted" }, " on ", connection));
    const target = connections.find((c) => c.name === connection);
    const jobType = target && target.jobTypes[0];
    const controls = new Map(); // field path -> input element
    const rows = [];
    const addRow = (path, label, control, hint) => {
      controls.set(path, control);
      control.id = "field-" + path.replace(/[^A-Za-z0-9_-]/g, "_");
      control.setAttribute("data-field", path);
      rows.push(h("label", { for: control.id }, label), control,
        h("div", {}, h("div", { class: "hint" }, hint || ""),
          h("div", { class: "field-error", "data-error-for": path, role: "status" })));
    };
    addRow("runId", "Run id", h("input", { type: "text", placeholder: "chosen for you", autocomplete: "off" }),
      "optional; the same id never starts a second run");
    const sent = job.parameters.filter((p) => p.direction !== "Output");
    const previous = new Map(((earlier && earlier.status === 200 && earlier.body.parameters) || [])
      .filter((p) => p.direction !== "Output" && p.value !== undefined && p.value !== null)
      .map((p) => [p.name, valueText(p.value)]));
    sent.forEach((p, index) => {
      const given = previous.has(p.name) ? { ...p, default: previous.get(p.name) } : p;
      addRow(`parameters[${index}].value`, p.name + (p.required ? " *" : ""), inputFor(given),
        `${p.direction}, ${p.type}${p.default !== null && p.default !== undefined ? ", default " + valueText(p.default) : ""}` +
        (previous.has(p.name) ? ", as in run " + from : ""));
    });
    addRow("timeout", "Timeout", h("input", { type: "text", placeholder: "P1D" }), "ISO 8601 duration; the run is cancelled after it");
    const outputs = job.parameters.filter((p) => p.direction === "Output").map((p) => p.name);
    const formError = h("div", { class: "error-box", id: "form-error", role: "alert", hidden: true });
    const submit = h("button", { type: "submit", class: "primary", id: "start-run" }, "Start run");
    const form = h("form", { class: "run-form", id: "run-form", novalidate: true }, rows,
      h("div", { class: "actions" }, submit,
        outputs.length ? h("span", { class: "muted" }, "  writes back: ", outputs.join(", ")) : null));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const node of form.querySelectorAll("[data-error-for]")) node.textContent = "";
      for (const control of controls.values()) control.removeAttribute("aria-invalid");
      formError.hidden = true;
      const request = buildRequest(jobType, connection, job, sent, controls);
      submit.disabled = true;
      const answer = await api("POST", "/runs", request);
      submit.disabled = false;
      if (answer.status === 202 || answer.status === 200) {
        go("#/runs/" + encodeURIComponent(answer.body.id));
        return;
      }
      const error = errorOf(answer);
      const path = fieldPath(error.field, request, sent);
      const control = controls.get(path);
      if (control) {
        control.setAttribute("aria-invalid", "true");
        // the message starts with the field's path, which the row already shows
        const text = error.message.startsWith(error.field + ": ") ? error.message.slice(error.field.length + 2) : error.message;
        form.querySelector(`[data-error-for="${CSS.escape(path)}"]`).textContent = text;
        control.focus();
      } else {
        formError.textContent = error.message;
        formError.hidden = false;
      }
    });
    show(heading, job.description ? h("p", { class: "muted" }, job.description) : null, formError, form);
  }

  function inputFor(parameter) {
    const type = String(parameter.type || "").toUpperCase();
    const value = parameter.default === null || parameter.default === undefined ? "" : valueText(parameter.default);
    if (type === "INTEGER") return h("input", { type: "number", step: "1", value });
    if (type === "FLOAT") return h("input", { type: "number", step: "any", value });
    if (type === "BOOLEAN") {
      return h("select", {}, ["", "true", "false"].map((v) => h("option", { value: v, selected: v === value.toLowerCase() }, v || "(unset)")));
    }
    if (Array.isArray(parameter.choices)) {
      const options = (parameter.required ? [] : [""]).concat(parameter.choices.map(String));
      return h("select", {}, options.map((v) => h("option", { value: v, selected: v === value }, v || "(unset)")));
    }
    if (type === "JSON" || type === "LIST" || parameter.name === "user_message") return h("textarea", { rows: 3 }, value);
    return h("input", { type: "text", value });
  }

  function buildRequest(jobType, connection, job, sent, controls) {
    const parameters = sent.map((p, index) => {
      const raw = controls.get(`parameters[${index}].value`).value;
      const parameter = { name: p.name, direction: p.direction };
      if (raw !== "") parameter.value = raw;
      return parameter;
    });
    const outputs = job.parameters.filter((p) => p.direction === "Output")
      .map((p) => ({ name: p.name, direction: "Output" }));
    const request = { jobType, connection, job: job.job,
      parameters: parameters.filter((p) => p.value !== undefined || p.direction !== "Input").concat(outputs) };
    const runId = controls.get("runId").value.trim();
    if (runId) request.runId = runId;
    const timeout = controls.get("timeout").value.trim();
    if (timeout) request.timeout = timeout;
    return request;
  }

  // The API names the field by its path in the request we sent; map a parameter's index back to its row.
  function fieldPath(field, request, sent) {
    const match = /^parameters\[(\d+)\](.*)$/.exec(field || "");
    if (!match) return field;
    const parameter = request.parameters[Number(match[1])];
    const index = parameter ? sent.findIndex((p) => p.name === parameter.name) : -1;
    return index >= 0 ? `parameters[${index}].value` : field;
  }

  // ---- start ------------------------------------------------------------------------------------

  window.addEventListener("hashchange", render);
  render();
})();
