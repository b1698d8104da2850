/* app.js: the console's frame: signing in and out (the staff session API),
 * the language, the menu and the page named by the URL's #fragment. */
"use strict";
var App = (function () {
  var t = I18N.t;
  var PAGES = ["overview", "products", "regions", "members", "counterfeit", "runs", "campaigns", "audit", "webhooks", "exports"];
  var $ = function (id) { return document.getElementById(id); };

  function translate() {
    document.documentElement.lang = I18N.lang();
    document.title = t("product");
    Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (e) { e.textContent = t(e.getAttribute("data-t")); });
  }
  function current() {
    var h = (location.hash || "").replace(/^#\/?/, "");
    return PAGES.indexOf(h) >= 0 ? h : "overview";
  }
  var shown = 0; /* how many pages were shown: the latest is the one on screen */
  function show(name) {
    Pages.dispose();
    Array.prototype.forEach.call(document.querySelectorAll(".toast"), function (n) {
      if (n.getAttribute("data-page") !== name) n.remove();
    });
    var main = $("main");
    main.textContent = "";
    main.setAttribute("data-page", name);
    main.removeAttribute("data-ready");
    $("page-title").textContent = t("nav_" + name);
    Array.prototype.forEach.call(document.querySelectorAll("#nav a"), function (a) {
      a.classList.toggle("active", a.getAttribute("data-page") === name);
    });
    var done = Pages[name](main) || Promise.resolve();
    var mine = ++shown;
    /* data-ready: the page's replies are drawn (the browser test waits for
     * it); a page left before its replies came says nothing */
    return done.then(function () { if (mine === shown) main.setAttribute("data-ready", name); },
                     function (e) {
                       if (mine !== shown) return;
                       main.appendChild(notice({ status: 0, body: { message: String(e) }, path: "" }));
                       main.setAttribute("data-ready", name);
                     });
  }
  function who() {
    var me = API.state.me;
    if (!me) return;
    var brands = me.all_brands ? t("all_brands") : (me.brands || []).map(function (b) { return b.name || "—"; }).join(", ");
    $("who").textContent = "";
    $("who").appendChild(el("strong", { text: me.name }));
    $("who").appendChild(el("span", { class: "muted", id: "who-brands", text: " · " + t("brands") + ": " + brands }));
  }
  function signedIn() {
    $("signin").hidden = true;
    $("shell").hidden = false;
    who();
    show(current());
  }
  function signedOut() {
    Pages.dispose();
    $("shell").hidden = true;
    $("signin").hidden = false;
    $("main").textContent = "";
    $("signin-password").value = "";
    $("signin-name").focus();
  }
  function toast(text) {
    var n = el("div", { class: "toast", role: "status", text: text, "data-page": current() });
    document.body.appendChild(n);
    setTimeout(function () { n.remove(); }, 4000);
  }
  function init() {
    translate();
    API.onSignedOut = function () { if (!$("shell").hidden) signedOut(); };
    Array.prototype.forEach.call(document.querySelectorAll(".lang-switch"), function (b) {
      b.addEventListener("click", function () {
        I18N.set(I18N.lang() === "zh-CN" ? "en" : "zh-CN");
        translate();
        if (!$("shell").hidden) { who(); show(current()); }
      });
    });
    $("signin-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var err = $("signin-error");
      err.hidden = true;
      $("signin-submit").disabled = true;
      API.signIn($("signin-name").value.trim(), $("signin-password").value, $("signin-totp").value.trim()).then(function (r) {
        $("signin-submit").disabled = false;
        if (r.ok) return API.me().then(signedIn);
        if (r.status === 429) err.textContent = t("signin_locked", { s: (r.headers && r.headers.get("Retry-After")) || "60" });
        else if (r.status === 401) { err.textContent = t("signin_failed"); $("signin-totp-row").hidden = false; }
        else if (r.status === 503 || r.status === 0) err.textContent = t("signin_unavailable");
        else err.textContent = (r.body && r.body.message) || ("HTTP " + r.status);
        err.hidden = false;
      });
    });
    $("signout").addEventListener("click", function () { API.signOut().then(signedOut); });
    window.addEventListener("hashchange", function () { if (!$("shell").hidden) show(current()); });
    API.me().then(function (r) { if (r.ok && API.state.me.kind === "staff") signedIn(); else signedOut(); });
  }
  document.addEventListener("DOMContentLoaded", init);
  return { show: show, toast: toast };
})();
