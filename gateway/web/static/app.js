// The "Going abroad?" page: composes the customer's plan through the gateway (HTTP/JSON,
// transcoded by Envoy from the contract's google.api.http rules), books it in one step, and
// follows the order live from the WatchOrder stream (one JSON event per line) until every
// partner's reference is shown. It holds only a customer-session token from its backend.
"use strict";

(function () {
  const MESSAGES = window.PAGE_MESSAGES;
  const FINAL_STATES = new Set([
    "ORDER_STATE_CONFIRMED",
    "ORDER_STATE_PARTIALLY_CONFIRMED",
    "ORDER_STATE_COMPENSATED",
    "ORDER_STATE_FAILED",
    "ORDER_STATE_CANCELLED",
    "ORDER_STATE_NEEDS_ATTENTION",
  ]);
  // BookSolution answers with the order as it stands shortly before this deadline; the page
  // then follows it live from WatchOrder rather than waiting for the whole saga.
  const BOOK_DEADLINE = "2S";

  const state = {
    language: "en",
    session: null, // {access_token, gateway_url, customer}
    requestBase: "",
    solution: null,
    order: null,
    booking: false,
  };

  const $ = (id) => document.getElementById(id);

  function text(key) {
    return (MESSAGES[state.language] || MESSAGES.en)[key];
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  function randomHex(bytes) {
    const values = new Uint8Array(bytes);
    crypto.getRandomValues(values);
    return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- talking to the gateway ----------------------------------------------------------------

  class GatewayError extends Error {
    constructor(httpStatus, status) {
      super((status && status.message) || `HTTP ${httpStatus}`);
      this.httpStatus = httpStatus;
      this.status = status || {};
    }
  }

  async function call(method, path, body, extraHeaders) {
    const headers = { authorization: `Bearer ${state.session.access_token}`, ...extraHeaders };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(state.session.gateway_url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let status = null;
      try {
        status = await response.json(); // a google.rpc.Status, with its details
      } catch (_) {
        status = null;
      }
      throw new GatewayError(response.status, status);
    }
    return response.json();
  }

  // Reads a server stream transcoded as newline-delimited JSON, one message per line.
  async function stream(path, onMessage) {
    const response = await fetch(state.session.gateway_url + path, {
      headers: { authorization: `Bearer ${state.session.access_token}` },
    });
    if (!response.ok) {
      let status = null;
      try {
        status = await response.json();
      } catch (_) {
        status = null;
      }
      throw new GatewayError(response.status, status);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) await onMessage(JSON.parse(line));
      }
      if (done) break;
    }
    if (buffer.trim()) await onMessage(JSON.parse(buffer));
  }

  // -- the page ------------------------------------------------------------------------------

  function showError(error) {
    const box = $("error");
    box.replaceChildren();
    if (error instanceof GatewayError && error.httpStatus === 401) {
      box.append(element("p", {}, text("sessionExpired")));
    } else {
      box.append(element("p", {}, format(text("failed"), { message: error.message })));
      for (const detail of (error.status && error.status.details) || []) {
        for (const violation of detail.fieldViolations || []) {
          box.append(element("p", { class: "violation" }, `${violation.field}: ${violation.description}`));
        }
      }
    }
    box.hidden = false;
    $("status").textContent = "";
  }

  function translateStatics() {
    document.documentElement.lang = state.language;
    document.title = `${text("heading")} · ${text("brand")}`;
    for (const node of document.querySelectorAll("[data-i18n]")) {
      const value = text(node.dataset.i18n);
      if (typeof value === "string") node.textContent = value;
    }
  }

  function renderTrip(solution) {
    const trip = solution.trip || {};
    const date = (d) => (d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "");
    $("trip-summary").textContent = format(text("trip"), {
      destination: trip.destinationRegionCode,
      depart: date(trip.departDate),
      back: date(trip.returnDate),
      days: trip.days,
      travellers: (trip.travellers || []).length,
    });
    $("trip").hidden = false;
  }

  function renderComponent(component) {
    const status = component.status || "COMPONENT_STATUS_UNSPECIFIED";
    const item = element("li", { class: "component", "data-kind": component.kind, "data-status": status });
    const headingId = `component-${component.kind}`;
    item.setAttribute("aria-labelledby", headingId);
    item.append(
      element(
        "div",
        { class: "component-head" },
        element("h3", { id: headingId }, component.title || component.kind),
        element("span", { class: "badge" }, (text("status") || {})[status] || status),
      ),
    );
    const facts = element("dl", { class: "facts" });
    const fact = (label, value, cls) => {
      if (!value) return;
      facts.append(element("dt", {}, label), element("dd", { class: cls }, value));
    };
    if (status === "COMPONENT_STATUS_HELD" && component.held) {
      const held = component.held;
      fact(text("youHold"), [held.partnerName, held.title].filter(Boolean).join(" · "), "held");
      fact(text("reference"), held.reference, "reference");
    } else if (component.offer) {
      const offer = component.offer;
      fact(text("chosen"), [offer.partnerName, offer.title].filter(Boolean).join(" · "), "offer");
      fact(text("price"), offer.price && offer.price.totalText, "price");
    }
    fact(text("why"), component.reason, "reason");
    item.append(facts);
    return item;
  }

  function renderSolution(solution) {
    state.solution = solution;
    renderTrip(solution);
    const list = $("components");
    list.replaceChildren(...(solution.components || []).map(renderComponent));
    list.dataset.language = solution.languageCode || "";
    $("plan-section").hidden = false;
    const totals = $("totals");
    totals.replaceChildren(...(solution.totalsText || []).map((t) => element("li", { class: "amount" }, t)));
    $("totals-section").hidden = false;
    const bookable = (solution.components || []).some((c) => c.status === "COMPONENT_STATUS_OK");
    $("book").disabled = !bookable || state.booking || state.order !== null;
    if (state.order) renderOrder(state.order);
  }

  async function compose() {
    $("status").textContent = text("loading");
    $("error").hidden = true;
    const body = {
      ...state.session.customer.compose,
      requestId: `${state.requestBase}-${state.language}`,
      languageCode: state.language,
    };
    const response = await call("POST", "/v1/solutions:compose", body);
    renderSolution(response.solution);
    $("status").textContent = text("ready");
  }

  function partnerName(partnerId) {
    for (const c of (state.solution && state.solution.components) || []) {
      if (c.offer && c.offer.partnerId === partnerId) return c.offer.partnerName;
    }
    return partnerId;
  }

  function componentTitle(kind) {
    for (const c of (state.solution && state.solution.components) || []) {
      if (c.kind === kind) return c.title || kind;
    }
    return kind;
  }

  function renderOrder(order) {
    state.order = order;
    const orderState = order.state || "ORDER_STATE_UNSPECIFIED";
    $("order-section").dataset.orderId = order.orderId || "";
    const shown = $("order-state");
    shown.textContent = (text("orderState") || {})[orderState] || orderState;
    shown.dataset.orderState = orderState;
    const references = $("references");
    references.replaceChildren(
      ...(order.components || [])
        .filter((c) => c.state !== "ORDER_COMPONENT_STATE_SKIPPED")
        .map((c) =>
          element(
            "li",
            { class: "reference-row", "data-kind": c.kind, "data-reference": c.reference || "" },
            element("span", { class: "what" }, `${componentTitle(c.kind)} · ${partnerName(c.partnerId)}`),
            element("span", { class: c.reference ? "reference" : "pending" }, c.reference || text("waiting")),
          ),
        ),
    );
    $("order-section").hidden = false;
  }

  function addProgress(event) {
    const type = event.type || "";
    const what = (text("events") || {})[type] || type.replace(/_/g, " ");
    const line = event.componentKind ? `${componentTitle(event.componentKind)}: ${what}` : what;
    $("progress").append(element("li", { "data-type": type }, line));
  }

  async function refreshOrder(orderId) {
    const response = await call("GET", `/v1/orders/${encodeURIComponent(orderId)}`);
    renderOrder(response.order);
    return response.order;
  }

  async function watch(orderId) {
    let after = 0;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        await stream(`/v1/orders/${encodeURIComponent(orderId)}:watch?afterSequence=${after}`, async (message) => {
          const event = message.event || {};
          after = Math.max(after, Number(event.sequence || 0));
          addProgress(event);
          if (event.type && (event.type.startsWith("component_") || FINAL_STATES.has(event.orderState))) {
            await refreshOrder(orderId);
          }
        });
      } catch (error) {
        if (error instanceof GatewayError) throw error;
        // The stream broke (network): pick up after the last event seen.
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      const order = await refreshOrder(orderId);
      if (FINAL_STATES.has(order.state)) return order;
    }
    return refreshOrder(orderId);
  }

  async function bookAll() {
    if (!state.solution || state.booking) return;
    state.booking = true;
    $("book").disabled = true;
    $("error").hidden = true;
    $("status").textContent = text("booking");
    $("progress").replaceChildren();
    try {
      const response = await call(
        "POST",
        "/v1/orders",
        {
          requestId: `${state.requestBase}-book`,
          solutionId: state.solution.solutionId,
          travellers: state.session.customer.travellers,
        },
        { "grpc-timeout": BOOK_DEADLINE },
      );
      renderOrder(response.order);
      $("order-heading").focus();
      const order = await watch(response.order.orderId);
      $("status").textContent =
        order.state === "ORDER_STATE_CONFIRMED"
          ? text("booked")
          : (text("orderState") || {})[order.state] || order.state;
    } catch (error) {
      showError(error);
    } finally {
      state.booking = false;
    }
  }

  async function switchLanguage(language) {
    state.language = language in MESSAGES ? language : "en";
    translateStatics();
    try {
      await compose();
    } catch (error) {
      showError(error);
    }
  }

  async function start() {
    $("book").addEventListener("click", bookAll);
    $("language").addEventListener("change", (event) => switchLanguage(event.target.value));
    state.requestBase = `web-${randomHex(12)}`;
    const wanted = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh-CN" : "en";
    state.language = wanted;
    $("language").value = wanted;
    translateStatics();
    try {
      const response = await fetch("/api/session", { method: "POST" });
      if (!response.ok) throw new Error(`no session (${response.status})`);
      state.session = await response.json();
      await compose();
    } catch (error) {
      showError(error);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
