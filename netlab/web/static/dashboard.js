/*
 * netlab's teacher's view: every open connection, live; recent events; the
 * wire trace of the selected connection.
 *
 * Data comes from the live WebSocket /api/live (a JSON frame about once a
 * second) and, for the selected connection, /api/connections/ID/trace.  A
 * page opened as /?token=T passes the token on to both.  Everything from the
 * server is inserted with textContent, never as HTML.
 */
"use strict";

(function () {
  /** At most this many events are listed. */
  const EVENT_LIMIT = 500;
  /** How often the selected connection's trace is fetched, in milliseconds. */
  const TRACE_PERIOD = 1000;
  /** How long to wait before opening the live socket again, in milliseconds. */
  const LIVE_RETRY = 3000;
  /** The columns of a connection's row, in order. */
  const COLUMNS = [
    "service", "transport", "peer", "name", "mode", "bytes", "messages", "since", "idle",
  ];

  const token = new URLSearchParams(location.search).get("token");

  const statusLine = document.getElementById("status");
  const total = document.getElementById("total");
  const table = document.getElementById("connections");
  const rows = table.tBodies[0];
  const traceAbout = document.getElementById("trace-about");
  const trace = document.getElementById("trace");
  const events = document.getElementById("events");

  /** Rows by connection id (as text). */
  const rowsById = new Map();
  /** The last connection list pushed, by id (as text). */
  let connectionsById = new Map();
  /** The id (as text) of the selected connection, or null. */
  let selectedId = null;
  /** Bumped on every selection, so an old trace fetch does not show. */
  let traceGeneration = 0;
  /** What the trace shows now, to leave it alone when nothing changed. */
  let traceShown = null;
  /** The highest event seq shown so far. */
  let lastSeq = -1;

  /**
   * Path with the page's token (if it has one) added as a query parameter.
   */
  function withToken(path) {
    if (token === null) {
      return path;
    }
    const joiner = path.includes("?") ? "&" : "?";
    return path + joiner + "token=" + encodeURIComponent(token);
  }

  function socketUrl(path) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + path;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function twoDigits(number) {
    return String(number).padStart(2, "0");
  }

  /**
   * Unix seconds as local hh:mm:ss (and .mmm with milliseconds).
   */
  function clockTime(seconds, milliseconds) {
    const date = new Date(seconds * 1000);
    let text = twoDigits(date.getHours()) + ":" + twoDigits(date.getMinutes()) + ":" +
      twoDigits(date.getSeconds());
    if (milliseconds) {
      text += "." + String(date.getMilliseconds()).padStart(3, "0");
    }
    return text;
  }

  /**
   * A duration in seconds, roughly: "3 s", "2 min", "1 h 5 min".
   */
  function duration(seconds) {
    const whole = Math.max(0, Math.floor(Number(seconds) || 0));
    if (whole < 60) {
      return whole + " s";
    }
    if (whole < 3600) {
      return Math.floor(whole / 60) + " min";
    }
    const hours = Math.floor(whole / 3600);
    const minutes = Math.floor((whole % 3600) / 60);
    return hours + " h" + (minutes ? " " + minutes + " min" : "");
  }

  function orBlank(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.dataset.state = state;
    document.body.classList.toggle("stale", state !== "live");
  }

  /**
   * The text of an error response: its JSON "error", else its body.
   */
  async function errorText(response) {
    const body = (await response.text()).trim();
    try {
      const parsed = JSON.parse(body);
      if (parsed && typeof parsed.error === "string") {
        return parsed.error;
      }
    } catch (error) {
      // Not JSON: the body is the text.
    }
    return body || "HTTP " + response.status + " " + response.statusText;
  }

  // ---- connections ----

  function cellTexts(connection) {
    return {
      service: orBlank(connection.service),
      transport: orBlank(connection.transport),
      peer: orBlank(connection.peer),
      name: orBlank(connection.name),
      mode: orBlank(connection.mode),
      bytes: orBlank(connection.bytes_in) + " / " + orBlank(connection.bytes_out),
      messages: orBlank(connection.messages_in) + " / " + orBlank(connection.messages_out),
      since: typeof connection.since === "number" ? clockTime(connection.since, false) : "",
      idle: duration(connection.idle),
    };
  }

  function newRow(id) {
    const row = document.createElement("tr");
    row.dataset.id = id;
    row.tabIndex = 0;
    for (const column of COLUMNS) {
      const cell = element("td", "col-" + column);
      if (column === "bytes" || column === "messages") {
        cell.classList.add("num");
      }
      row.appendChild(cell);
    }
    return row;
  }

  function showConnections(connections, count) {
    const seen = new Map();
    connections.forEach((connection, index) => {
      const id = String(connection.id);
      seen.set(id, connection);
      let row = rowsById.get(id);
      if (row === undefined) {
        row = newRow(id);
        rowsById.set(id, row);
      }
      const texts = cellTexts(connection);
      COLUMNS.forEach((column, at) => {
        const cell = row.cells[at];
        if (cell.textContent !== texts[column]) {
          cell.textContent = texts[column];
        }
      });
      row.classList.toggle("traced", connection.traced === true);
      markSelected(row);
      if (rows.children[index] !== row) {
        rows.insertBefore(row, rows.children[index] || null);
      }
    });
    for (const [id, row] of rowsById) {
      if (!seen.has(id)) {
        row.remove();
        rowsById.delete(id);
      }
    }
    connectionsById = seen;
    const number = typeof count === "number" ? count : connections.length;
    let text = number + (number === 1 ? " open connection" : " open connections");
    if (connections.length < number) {
      text += " (the list shows the first " + connections.length + ")";
    }
    total.textContent = text;
  }

  function markSelected(row) {
    const selected = row.dataset.id === selectedId;
    row.classList.toggle("selected", selected);
    row.setAttribute("aria-selected", selected ? "true" : "false");
  }

  // ---- events ----

  function showEvents(list) {
    for (const event of list) {
      if (typeof event.seq === "number") {
        if (event.seq <= lastSeq) {
          continue;
        }
        lastSeq = event.seq;
      }
      const item = element("li", "event kind-" + orBlank(event.kind).replace(/[^a-z]/g, ""));
      item.appendChild(element("span", "time",
        typeof event.t === "number" ? clockTime(event.t, false) : ""));
      item.appendChild(element("span", "kind", orBlank(event.kind)));
      item.appendChild(element("span", "service", orBlank(event.service)));
      item.appendChild(element("span", "peer", orBlank(event.peer)));
      item.appendChild(element("span", "name", orBlank(event.name)));
      item.appendChild(element("span", "text", orBlank(event.text)));
      events.insertBefore(item, events.firstChild);
    }
    while (events.childElementCount > EVENT_LIMIT) {
      events.removeChild(events.lastElementChild);
    }
  }

  // ---- the wire trace ----

  function select(id) {
    if (id === selectedId) {
      return;
    }
    selectedId = id;
    for (const row of rowsById.values()) {
      markSelected(row);
    }
    traceGeneration += 1;
    traceShown = null;
    trace.replaceChildren();
    const connection = connectionsById.get(id);
    let about = "Connection " + id;
    if (connection) {
      about += ": " + [connection.service, connection.peer, connection.name]
        .filter((part) => part !== null && part !== undefined && part !== "")
        .join(", ");
    }
    traceAbout.textContent = about + " (loading\u2026)";
    traceAbout.dataset.title = about;
    pollTrace(id, traceGeneration);
  }

  async function pollTrace(id, generation) {
    let again = true;
    try {
      const response = await fetch(
        withToken("/api/connections/" + encodeURIComponent(id) + "/trace"),
        { cache: "no-store" });
      if (generation !== traceGeneration) {
        return;
      }
      if (response.ok) {
        showTrace(await response.json());
      } else {
        const text = await errorText(response);
        if (generation !== traceGeneration) {
          return;
        }
        showTraceError(text);
        // Gone, or tracing is off: asking again will not change the answer.
        again = response.status !== 404 && response.status !== 409;
      }
    } catch (error) {
      if (generation !== traceGeneration) {
        return;
      }
      showTraceError("cannot fetch the trace: " + error.message);
    }
    if (again && generation === traceGeneration) {
      setTimeout(() => pollTrace(id, generation), TRACE_PERIOD);
    }
  }

  function showTraceError(text) {
    traceAbout.textContent = traceAbout.dataset.title || "";
    let error = trace.querySelector(".trace-error");
    if (error === null) {
      error = element("p", "trace-error err");
      trace.insertBefore(error, trace.firstChild);
    }
    error.textContent = text;
    traceShown = null;
  }

  function showTrace(data) {
    const incoming = Array.isArray(data.in) ? data.in : [];
    const outgoing = Array.isArray(data.out) ? data.out : [];
    const key = JSON.stringify([incoming, outgoing, data.size]);
    let about = traceAbout.dataset.title || "";
    if (typeof data.size === "number") {
      about += " \u2014 the last " + data.size + " bytes each way are kept";
    }
    traceAbout.textContent = about;
    if (key === traceShown) {
      return;
    }
    traceShown = key;
    const chunks = [];
    for (const [t, text] of incoming) {
      chunks.push({ t: t, direction: "in", text: text });
    }
    for (const [t, text] of outgoing) {
      chunks.push({ t: t, direction: "out", text: text });
    }
    // A stable sort: within one direction the server's order stays.
    chunks.sort((a, b) => a.t - b.t);
    const following = trace.scrollHeight - trace.scrollTop - trace.clientHeight <= 48;
    const children = [];
    if (chunks.length === 0) {
      children.push(element("p", "empty", "Nothing sent or received yet."));
    }
    for (const chunk of chunks) {
      const line = element("div", "chunk " + chunk.direction);
      line.appendChild(element("span", "time",
        typeof chunk.t === "number" ? clockTime(chunk.t, true) : ""));
      line.appendChild(element("span", "dir",
        chunk.direction === "in" ? "\u2192 in" : "\u2190 out"));
      // Already escaped by the server: shown verbatim.
      line.appendChild(element("pre", "data", orBlank(chunk.text)));
      children.push(line);
    }
    trace.replaceChildren(...children);
    if (following) {
      trace.scrollTop = trace.scrollHeight;
    }
  }

  function rowOf(target) {
    return target instanceof Element ? target.closest("tr[data-id]") : null;
  }

  rows.addEventListener("click", (event) => {
    const row = rowOf(event.target);
    if (row !== null) {
      select(row.dataset.id);
    }
  });
  rows.addEventListener("keydown", (event) => {
    const row = rowOf(event.target);
    if (row !== null && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      select(row.dataset.id);
    }
  });

  // ---- the live socket ----

  /**
   * Why the dashboard refused the live socket (a browser does not show a
   * refused WebSocket's answer): ask the API the same way and show its text.
   */
  async function explainRefusal() {
    try {
      const response = await fetch(withToken("/api/connections"), { cache: "no-store" });
      if (!response.ok) {
        setStatus("HTTP " + response.status + ": " + (await errorText(response)) +
          " (live updates stopped; retrying)", "refused");
      }
    } catch (error) {
      // Unreachable: the status already says so.
    }
  }

  function connectLive() {
    let socket;
    try {
      socket = new WebSocket(socketUrl(withToken("/api/live")));
    } catch (error) {
      setStatus("live updates stopped: " + error.message, "stopped");
      return;
    }
    let opened = false;
    let first = true;
    socket.addEventListener("open", () => {
      opened = true;
      setStatus("live", "live");
    });
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      const list = Array.isArray(data.events) ? data.events : [];
      if (first && list.length > 0 && list[list.length - 1].seq < lastSeq) {
        // The daemon was restarted: its numbering began again.
        lastSeq = -1;
      }
      first = false;
      if (Array.isArray(data.connections)) {
        showConnections(data.connections, data.total);
      }
      showEvents(list);
    });
    socket.addEventListener("close", () => {
      setStatus("live updates stopped; trying again every " + LIVE_RETRY / 1000 + " s",
        "stopped");
      if (!opened) {
        explainRefusal();
      }
      setTimeout(connectLive, LIVE_RETRY);
    });
  }

  connectLive();
})();
