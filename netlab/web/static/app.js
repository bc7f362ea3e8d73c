/*
 * netlab's public page: the Day/Time, the Chat room and the Doctor.
 *
 * Everything the server or a user wrote is put into the page with
 * textContent, never as HTML: a message "<img src=x onerror=alert(1)>"
 * shows as those characters.
 */
"use strict";

(function () {
  /** At most this many lines are kept in a conversation's log. */
  const LOG_LIMIT = 1000;
  /** How often the Day/Time is fetched, in milliseconds. */
  const DAYTIME_PERIOD = 1000;
  /** A Day/Time fetch that takes longer than this counts as failed. */
  const DAYTIME_TIMEOUT = 5000;
  /** A log scrolled to within this many pixels of its end follows new lines. */
  const STICKY_PIXELS = 48;
  /** The chat service's default TCP port, for the terminal hint. */
  const CHAT_PORT = 21568;

  function byId(id) {
    return document.getElementById(id);
  }

  /**
   * The WebSocket URL of path on the server this page came from.
   */
  function socketUrl(path) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + path;
  }

  /**
   * The CSS class of a line from the server: errors and notices stand out.
   */
  function lineClass(line) {
    if (line === "ERR" || line.startsWith("ERR ")) {
      return "err";
    }
    if (line.startsWith("*")) {
      return "notice";
    }
    return "";
  }

  /**
   * One conversation over a WebSocket: a log, an input line, a send button
   * and a reconnect button, found by their ids (prefix-log, prefix-input,
   * prefix-send, prefix-reconnect, prefix-form).
   *
   * The server sends one line per text frame; the page sends one text frame
   * per message typed, exactly as typed.
   */
  class Conversation {
    constructor(prefix, path) {
      this.path = path;
      this.log = byId(prefix + "-log");
      this.input = byId(prefix + "-input");
      this.sendButton = byId(prefix + "-send");
      this.reconnectButton = byId(prefix + "-reconnect");
      this.socket = null;
      // Messages typed while the connection is being made, sent once it is open.
      this.pending = [];
      byId(prefix + "-form").addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });
      this.reconnectButton.addEventListener("click", () => this.connect());
    }

    connect() {
      this.reconnectButton.hidden = true;
      this.setEnabled(true);
      let socket;
      try {
        socket = new WebSocket(socketUrl(this.path));
      } catch (error) {
        this.add("* cannot connect: " + error.message, "notice");
        this.closed();
        return;
      }
      this.socket = socket;
      socket.addEventListener("open", () => {
        const waiting = this.pending;
        this.pending = [];
        for (const text of waiting) {
          socket.send(text);
        }
      });
      socket.addEventListener("message", (event) => {
        if (typeof event.data !== "string") {
          return;
        }
        // One line per frame; should a frame ever hold more, each is its own line.
        const lines = event.data.split(/\r?\n/);
        if (lines.length > 1 && lines[lines.length - 1] === "") {
          lines.pop();
        }
        for (const line of lines) {
          this.add(line, lineClass(line));
        }
      });
      socket.addEventListener("close", () => {
        if (this.socket === socket) {
          this.socket = null;
          this.closed();
        }
      });
    }

    closed() {
      this.pending = [];
      this.add("* disconnected", "notice");
      this.setEnabled(false);
      this.reconnectButton.hidden = false;
    }

    setEnabled(enabled) {
      this.input.disabled = !enabled;
      this.sendButton.disabled = !enabled;
    }

    submit() {
      const text = this.input.value;
      if (text === "" || this.socket === null) {
        return;
      }
      if (this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(text);
      } else if (this.socket.readyState === WebSocket.CONNECTING) {
        this.pending.push(text);
      } else {
        return;
      }
      this.input.value = "";
      // The server does not send a member's own message back: show it here.
      this.add("> " + text, "mine");
    }

    /**
     * Append one line (as text) to the log, dropping the oldest beyond
     * LOG_LIMIT; follow the end unless the reader has scrolled up.
     */
    add(text, className) {
      const log = this.log;
      const following =
        log.scrollHeight - log.scrollTop - log.clientHeight <= STICKY_PIXELS;
      const line = document.createElement("div");
      line.className = className ? "line " + className : "line";
      line.textContent = text;
      log.appendChild(line);
      while (log.childElementCount > LOG_LIMIT) {
        log.removeChild(log.firstElementChild);
      }
      if (following || className === "mine") {
        log.scrollTop = log.scrollHeight;
      }
    }
  }

  /**
   * Show what the server's Day/Time service says, fetched once a second
   * (never the browser's own clock); say so while it cannot be reached.
   */
  function startDaytime() {
    const shown = byId("daytime");

    function show(text, unreachable) {
      shown.textContent = text;
      shown.classList.toggle("unreachable", unreachable);
    }

    async function tick() {
      const started = Date.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), DAYTIME_TIMEOUT);
      try {
        const response = await fetch("/daytime", {
          cache: "no-store",
          signal: controller.signal,
        });
        const text = (await response.text()).replace(/\r\n?/g, "\n").trim();
        if (response.ok) {
          show(text, false);
        } else {
          const why = text ? ": " + text.slice(0, 200) : "";
          show("The Day/Time service is unreachable (HTTP " + response.status + why +
               "); trying again\u2026", true);
        }
      } catch (error) {
        show("The Day/Time service is unreachable; trying again\u2026", true);
      } finally {
        clearTimeout(timer);
        setTimeout(tick, Math.max(0, DAYTIME_PERIOD - (Date.now() - started)));
      }
    }

    tick();
  }

  /**
   * Fill in how to reach the same room from a terminal.
   */
  function showTerminalHint() {
    // An IPv6 address comes in brackets in a URL, but not on a command line.
    const host = (location.hostname || "localhost").replace(/^\[(.*)\]$/, "$1");
    byId("telnet-hint").textContent = "telnet " + host + " " + CHAT_PORT;
    byId("nc-hint").textContent = "nc " + host + " " + CHAT_PORT;
  }

  function start() {
    showTerminalHint();
    startDaytime();
    new Conversation("chat", "/ws/chat").connect();
    new Conversation("doctor", "/ws/doctor").connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
