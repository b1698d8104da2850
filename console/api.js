/* api.js: the admin API as the console calls it (the staff session's cookie,
 * its CSRF token on changes) and the small DOM helpers every page uses. Text
 * from the API is only ever set as text (el), never parsed as HTML. */
"use strict";
var API = (function () {
  var state = { me: null, csrf: null };
  function call(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET" && method !== "HEAD") {
      if (state.csrf) opts.headers["X-CSRF-Token"] = state.csrf;
      if (body !== undefined) {
        opts.headers["Content-Type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
    }
    return fetch(path, opts).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.status === 401 && path !== "/api/v1/admin/session" && API.onSignedOut) API.onSignedOut();
        return { status: res.status, ok: res.ok, body: data, path: path, headers: res.headers };
      });
    }, function (err) {
      return { status: 0, ok: false, body: { error: "network", message: String(err) }, path: path };
    });
  }
  function get(path) { return call("GET", path); }
  function post(path, body) { return call("POST", path, body); }
  function me() {
    return get("/api/v1/admin/me").then(function (r) {
      if (r.ok) { state.me = r.body; state.csrf = r.body.csrf || null; }
      return r;
    });
  }
  function signIn(name, password, totp) {
    var body = { name: name, password: password };
    if (totp) body.totp = totp;
    return post("/api/v1/admin/session", body).then(function (r) {
      if (r.ok) state.csrf = r.body.csrf;
      return r;
    });
  }
  function signOut() {
    return call("DELETE", "/api/v1/admin/session").then(function (r) {
      state.me = null; state.csrf = null;
      return r;
    });
  }
  function has(scope) {
    return !!(state.me && state.me.scopes && state.me.scopes.indexOf(scope) >= 0);
  }
  return { get: get, post: post, call: call, me: me, signIn: signIn, signOut: signOut, has: has,
           state: state, onSignedOut: null };
})();

/* el("div", {class: "x", text: "..."}, [children]): a DOM element; attributes
 * named on* are listeners. */
function el(tag, attrs, children) {
  var e = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") e.textContent = String(v);
      else if (k.indexOf("on") === 0 && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    });
  }
  (children || []).forEach(function (c) {
    if (c === null || c === undefined || c === false) return;
    e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  });
  return e;
}

/* A notice in place of a page part when its endpoint cannot answer: 404 (not
 * deployed here yet), 403 (a scope the account lacks) or another failure. */
function notice(r) {
  var t = I18N.t;
  if (r.status === 404 && r.body && r.body.error === "not_found") {
    return el("div", { class: "notice notice-na", "data-notice": "not_available" }, [
      el("strong", { text: t("not_available") }),
      el("p", { text: t("not_available_text", { path: r.path.split("?")[0] }) })]);
  }
  if (r.status === 403) {
    return el("div", { class: "notice notice-forbidden", "data-notice": "forbidden" }, [
      el("strong", { text: t("forbidden") }),
      el("p", { text: t("forbidden_text", { scope: (r.body && r.body.scope) || "?" }) })]);
  }
  return el("div", { class: "notice notice-error", "data-notice": "error" }, [
    el("strong", { text: t("error") }),
    el("p", { text: (r.body && r.body.message) || ("HTTP " + r.status) })]);
}

/* A table: cols [{key, label, num, render(row)}], rows. */
function table(cols, rows, attrs) {
  var head = el("tr", null, cols.map(function (c) { return el("th", { class: c.num ? "num" : null, text: c.label }); }));
  var body = rows.map(function (row) {
    return el("tr", row._attrs || null, cols.map(function (c) {
      var v = c.render ? c.render(row) : row[c.key];
      var td = el("td", { class: c.num ? "num" : null });
      if (v instanceof Node) td.appendChild(v);
      else td.textContent = c.num && typeof v === "number" ? I18N.num(v) : (v === null || v === undefined ? "–" : String(v));
      return td;
    }));
  });
  if (!rows.length) body = [el("tr", null, [el("td", { colspan: cols.length, class: "empty", text: I18N.t("none") })])];
  return el("div", { class: "table-wrap" }, [el("table", attrs || null, [el("thead", null, [head]), el("tbody", null, body)])]);
}

function card(title, children, attrs) {
  var a = attrs || {};
  a.class = "card" + (a.class ? " " + a.class : "");
  return el("section", a, [title ? el("h2", { text: title }) : null].concat(children || []));
}

function badge(status) {
  return el("span", { class: "badge badge-" + status, text: I18N.t("st_" + status) });
}
