/* pages.js: the console's pages. Each draws what one or more admin API
 * endpoints answer, and nothing else: every number on a page is a number of
 * a reply (or a sum of a reply's rows). A part whose endpoint answers 404 or
 * 403 shows a notice instead, and the rest of the page still works. */
"use strict";
var Pages = (function () {
  var t = I18N.t;
  var charts = [];
  var timers = [];
  var ROW_STYLE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2"];

  function dispose() {
    charts.forEach(function (c) { try { c.dispose(); } catch (e) { /* gone */ } });
    charts = [];
    timers.forEach(function (id) { clearInterval(id); });
    timers = [];
  }
  function chart(node, option) {
    if (!window.echarts) return null;
    var c = echarts.init(node, null, { renderer: "canvas", locale: I18N.lang() === "zh-CN" ? "ZH" : "EN" });
    option.animation = false; /* drawn at once: screenshots and slow machines */
    option.textStyle = { fontFamily: "system-ui, 'Noto Sans CJK SC', 'PingFang SC', sans-serif" };
    c.setOption(option);
    charts.push(c);
    return c;
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  /* ---- the date range, shared by the analytics pages ---- */
  function ymd(d) { return d.toISOString().slice(0, 10); }
  var range = (function () {
    var to = new Date();
    var from = new Date(to.getTime() - 13 * 86400000);
    return { from: ymd(from), to: ymd(to) };
  })();
  function rangeQuery() { return "from=" + range.from + "&to=" + range.to; }
  function rangeBar(redraw) {
    var from = el("input", { type: "date", value: range.from, "aria-label": t("from"), id: "range-from" });
    var to = el("input", { type: "date", value: range.to, "aria-label": t("to"), id: "range-to" });
    function preset(days) {
      return el("button", { type: "button", class: "chip", text: t("days" + days), onclick: function () {
        var end = new Date();
        range.to = ymd(end);
        range.from = ymd(new Date(end.getTime() - (days - 1) * 86400000));
        redraw();
      } });
    }
    return el("div", { class: "toolbar" }, [
      el("span", { class: "toolbar-label", text: t("range") }), preset(7), preset(14), preset(30),
      from, el("span", { class: "dash", text: "–" }), to,
      el("button", { type: "button", class: "ghost", text: t("apply"), onclick: function () {
        if (from.value && to.value) { range.from = from.value; range.to = to.value; redraw(); }
      } })]);
  }
  function loading() { return el("div", { class: "loading", text: t("loading") }); }

  /* ---- overview: analytics/overview ---- */
  var COUNTERS = ["scans", "claims", "points", "points_spent", "genuine", "not_genuine", "typo"];
  function change(now, before) {
    if (!before) return null;
    return Math.round((now - before) / before * 1000) / 10;
  }
  function kpi(key, label, value, pctChange) {
    var delta;
    if (pctChange === null || pctChange === undefined) {
      delta = el("span", { class: "delta flat", text: t("no_change") });
    } else {
      var cls = pctChange > 0 ? "up" : pctChange < 0 ? "down" : "flat";
      var arrow = pctChange > 0 ? "▲ " : pctChange < 0 ? "▼ " : "";
      delta = el("span", { class: "delta " + cls, "data-change": pctChange },
        [arrow + I18N.num(Math.abs(pctChange)) + "% " + t("wow")]);
    }
    return el("div", { class: "kpi kpi-" + key, "data-kpi": key, "data-value": value }, [
      el("div", { class: "kpi-label", text: label }),
      el("div", { class: "kpi-value", text: I18N.num(value) }), delta]);
  }
  function overview(main) {
    main.appendChild(rangeBar(function () { App.show("overview"); }));
    var body = main.appendChild(el("div", null, [loading()]));
    return API.get("/api/v1/admin/analytics/overview?" + rangeQuery()).then(function (r) {
      body.textContent = "";
      if (!r.ok) { body.appendChild(notice(r)); return; }
      var days = r.body.days || [];
      var sum = {}, before = {};
      COUNTERS.forEach(function (k) { sum[k] = 0; before[k] = 0; });
      days.forEach(function (d) {
        COUNTERS.forEach(function (k) { sum[k] += d.counts[k] || 0; before[k] += d.week_before[k] || 0; });
      });
      var last = days.length ? days[days.length - 1] : null;
      /* points_spent is null for an account limited to brands: spends belong to the group */
      var spent = !days.length || days[0].counts.points_spent !== null;
      var grid = el("div", { class: "kpis" }, [
        kpi("scans", t("scans"), sum.scans, change(sum.scans, before.scans)),
        kpi("scanners", t("scanners_day"), last ? last.counts.scanners : 0, last ? last.change_pct.scanners : null),
        kpi("claims", t("claims"), sum.claims, change(sum.claims, before.claims)),
        kpi("points", t("points"), sum.points, change(sum.points, before.points)),
        spent ? kpi("points_spent", t("points_spent"), sum.points_spent, change(sum.points_spent, before.points_spent))
              : el("div", { class: "kpi kpi-points_spent", "data-kpi-none": "points_spent" }, [
                  el("div", { class: "kpi-label", text: t("points_spent") }), el("div", { class: "kpi-value", text: "—" }),
                  el("div", { class: "kpi-def", text: r.body.points_spent_note ? t("spent_group") : "" })]),
        kpi("genuine", t("genuine"), sum.genuine, change(sum.genuine, before.genuine)),
        kpi("not_genuine", t("not_genuine"), sum.not_genuine, change(sum.not_genuine, before.not_genuine)),
        kpi("typo", t("typo"), sum.typo, change(sum.typo, before.typo))]);
      body.appendChild(grid);
      var x = days.map(function (d) { return d.day.slice(5); });
      var c1 = el("div", { class: "chart", id: "chart-verdicts" });
      var c2 = el("div", { class: "chart", id: "chart-claims" });
      body.appendChild(el("div", { class: "grid2" }, [card(t("verdicts"), [c1]), card(t("claims_points"), [c2])]));
      function series(k, type, color, extra) {
        var s = { name: t(k), type: type, data: days.map(function (d) { return d.counts[k]; }), itemStyle: { color: color }, symbolSize: 5 };
        return Object.assign(s, extra || {});
      }
      var base = { grid: { left: 48, right: 24, top: 40, bottom: 32 }, legend: { top: 0 },
                   tooltip: { trigger: "axis", renderMode: "richText" },
                   xAxis: { type: "category", data: x, boundaryGap: false }, yAxis: { type: "value", minInterval: 1 } };
      chart(c1, Object.assign({}, base, { series: [series("scans", "line", ROW_STYLE[0], { areaStyle: { opacity: 0.08 } }),
        series("genuine", "line", ROW_STYLE[1]), series("not_genuine", "line", ROW_STYLE[2]), series("typo", "line", ROW_STYLE[3])] }));
      chart(c2, Object.assign({}, base, { xAxis: { type: "category", data: x },
        yAxis: [{ type: "value", minInterval: 1 }, { type: "value", minInterval: 1 }],
        series: [series("claims", "bar", ROW_STYLE[0], { barMaxWidth: 18 }), series("points", "line", ROW_STYLE[4], { yAxisIndex: 1 })]
          .concat(spent ? [series("points_spent", "line", ROW_STYLE[2], { yAxisIndex: 1 })] : []) }));
      var cols = [{ key: "day", label: t("day") }].concat(["scans", "scanners", "claims", "points"].concat(spent ? ["points_spent"] : [], ["genuine", "not_genuine", "typo"]).map(function (k) {
        return { label: t(k === "scanners" ? "scanners" : k), num: true, render: function (d) {
          var v = d.counts[k], c = d.change_pct[k];
          return el("span", null, [I18N.num(v), c === null || c === undefined ? null :
            el("small", { class: c > 0 ? "up" : c < 0 ? "down" : "flat", text: " " + (c > 0 ? "+" : "") + I18N.num(c) + "%" })]);
        } };
      }));
      body.appendChild(card(t("per_day"), [table(cols, days.slice().reverse(), { id: "days" })]));
    });
  }

  /* ---- products and print runs: analytics/batches ---- */
  function shareBar(share) {
    var fill = el("div", { class: "share-fill", "data-share": share });
    fill.style.width = Math.max(0, Math.min(1, share || 0)) * 100 + "%"; /* CSSOM: allowed by the CSP */
    return el("div", { class: "share" }, [el("div", { class: "share-track" }, [fill]), el("span", { text: I18N.pct(share, 1) })]);
  }
  function products(main) {
    main.appendChild(rangeBar(function () { App.show("products"); }));
    var body = main.appendChild(el("div", null, [loading()]));
    return API.get("/api/v1/admin/analytics/batches?" + rangeQuery()).then(function (r) {
      body.textContent = "";
      if (!r.ok) { body.appendChild(notice(r)); return; }
      var ps = r.body.products || [];
      if (!ps.length) { body.appendChild(card(t("by_product"), [el("p", { class: "empty", text: t("no_data") })])); return; }
      var c = el("div", { class: "chart", id: "chart-products" });
      c.style.height = Math.min(420, 110 + 46 * ps.length) + "px";
      body.appendChild(card(t("by_product"), [c]));
      chart(c, { grid: { left: 80, right: 24, top: 36, bottom: 28 }, legend: { top: 0 },
        tooltip: { trigger: "axis", renderMode: "richText" },
        yAxis: { type: "category", data: ps.map(function (p) { return p.sku; }) }, xAxis: { type: "value", minInterval: 1 },
        series: ["genuine", "not_genuine", "typo"].map(function (k, i) {
          return { name: t(k), type: "bar", stack: "v", barMaxWidth: 22, itemStyle: { color: [ROW_STYLE[1], ROW_STYLE[2], ROW_STYLE[3]][i] },
                   data: ps.map(function (p) { return p[k]; }) };
        }) });
      ps.forEach(function (p) {
        var head = el("div", { class: "product-head" }, [
          el("div", null, [el("strong", { text: p.name }), el("span", { class: "muted", text: " " + p.sku + (p.brand ? " · " + p.brand : "") })]),
          el("div", { class: "product-nums" }, ["scans", "claims", "points"].map(function (k) {
            return el("span", { "data-product": p.sku, "data-counter": k, "data-value": p[k] }, [el("small", { text: t(k) + " " }), I18N.num(p[k])]);
          }))]);
        var cols = [
          { label: t("batch"), render: function (b) { return "#" + b.id; } },
          { label: t("status"), render: function (b) { return badge(b.status); } },
          { key: "codes", label: t("codes"), num: true }, { key: "scans", label: t("scans"), num: true },
          { key: "genuine", label: t("genuine"), num: true }, { key: "not_genuine", label: t("not_genuine"), num: true },
          { key: "claims", label: t("claims"), num: true }, { key: "claimed", label: t("claimed"), num: true },
          { label: t("claimed_share"), render: function (b) { return shareBar(b.claimed_share); } }];
        body.appendChild(card(null, [head, table(cols, p.batches || [])], { "data-sku": p.sku }));
      });
    });
  }

  /* ---- regions: analytics/regions, drawn on maps ---- */
  var CN_NAMES = { "CN-BJ": "北京", "CN-TJ": "天津", "CN-HE": "河北", "CN-SX": "山西", "CN-NM": "内蒙古", "CN-LN": "辽宁",
    "CN-JL": "吉林", "CN-HL": "黑龙江", "CN-SH": "上海", "CN-JS": "江苏", "CN-ZJ": "浙江", "CN-AH": "安徽", "CN-FJ": "福建",
    "CN-JX": "江西", "CN-SD": "山东", "CN-HA": "河南", "CN-HB": "湖北", "CN-HN": "湖南", "CN-GD": "广东", "CN-GX": "广西",
    "CN-HI": "海南", "CN-CQ": "重庆", "CN-SC": "四川", "CN-GZ": "贵州", "CN-YN": "云南", "CN-XZ": "西藏", "CN-SN": "陕西",
    "CN-GS": "甘肃", "CN-QH": "青海", "CN-NX": "宁夏", "CN-XJ": "新疆", "CN-TW": "台湾", "CN-HK": "香港", "CN-MO": "澳门" };
  var CN_EN = { "CN-BJ": "Beijing", "CN-TJ": "Tianjin", "CN-HE": "Hebei", "CN-SX": "Shanxi", "CN-NM": "Inner Mongolia", "CN-LN": "Liaoning",
    "CN-JL": "Jilin", "CN-HL": "Heilongjiang", "CN-SH": "Shanghai", "CN-JS": "Jiangsu", "CN-ZJ": "Zhejiang", "CN-AH": "Anhui",
    "CN-FJ": "Fujian", "CN-JX": "Jiangxi", "CN-SD": "Shandong", "CN-HA": "Henan", "CN-HB": "Hubei", "CN-HN": "Hunan",
    "CN-GD": "Guangdong", "CN-GX": "Guangxi", "CN-HI": "Hainan", "CN-CQ": "Chongqing", "CN-SC": "Sichuan", "CN-GZ": "Guizhou",
    "CN-YN": "Yunnan", "CN-XZ": "Tibet", "CN-SN": "Shaanxi", "CN-GS": "Gansu", "CN-QH": "Qinghai", "CN-NX": "Ningxia",
    "CN-XJ": "Xinjiang", "CN-TW": "Taiwan", "CN-HK": "Hong Kong", "CN-MO": "Macao" };
  /* world.json's names where they differ from Intl.DisplayNames' English ones */
  var WORLD = { CZ: "Czech Rep.", KR: "Korea", KP: "Dem. Rep. Korea", LA: "Lao PDR", CD: "Dem. Rep. Congo", CG: "Congo",
    CF: "Central African Rep.", DO: "Dominican Rep.", BA: "Bosnia and Herz.", SS: "S. Sudan", GQ: "Eq. Guinea",
    EH: "W. Sahara", MK: "Macedonia", SZ: "Swaziland", CI: "Côte d'Ivoire", RU: "Russia", SB: "Solomon Is.",
    FK: "Falkland Is.", TF: "Fr. S. Antarctic Lands", PF: "Fr. Polynesia", KY: "Cayman Is.", FO: "Faeroe Is.",
    AG: "Antigua and Barb.", VC: "St. Vin. and Gren.", PM: "St. Pierre and Miquelon", ST: "São Tomé and Principe",
    MP: "N. Mariana Is.", VI: "U.S. Virgin Is.", TC: "Turks and Caicos Is.", GS: "S. Geo. and S. Sandw. Is.",
    HM: "Heard I. and McDonald Is.", IO: "Br. Indian Ocean Ter.", PS: "Palestine", SY: "Syria", IR: "Iran", VN: "Vietnam",
    BN: "Brunei", BO: "Bolivia", VE: "Venezuela", TZ: "Tanzania", MD: "Moldova", FM: "Micronesia", TL: "Timor-Leste",
    AX: "Aland", US: "United States", GB: "United Kingdom", CV: "Cape Verde", MM: "Myanmar", TR: "Turkey", CW: "Curaçao" };
  var maps = {};
  function loadMap(name, file) {
    if (maps[name]) return maps[name];
    maps[name] = fetch("/console/vendor/echarts-4.9.0-maps/" + file, { credentials: "same-origin" })
      .then(function (res) { return res.json(); })
      .then(function (geo) { echarts.registerMap(name, geo); return true; });
    return maps[name];
  }
  function regionName(code, level) {
    if (!code || code === "unknown") return t("unknown");
    if (level === "country") {
      try { return new Intl.DisplayNames([I18N.lang()], { type: "region" }).of(code); } catch (e) { return code; }
    }
    if (I18N.lang() === "zh-CN" && CN_NAMES[code]) return CN_NAMES[code];
    return CN_EN[code] || code;
  }
  function worldName(code) {
    if (WORLD[code]) return WORLD[code];
    try { return new Intl.DisplayNames(["en"], { type: "region" }).of(code); } catch (e) { return code; }
  }
  function mapChart(node, map, data, label) {
    var max = data.reduce(function (m, d) { return Math.max(m, d.value); }, 0) || 1;
    return chart(node, {
      tooltip: { trigger: "item", renderMode: "richText" },
      visualMap: node.clientWidth < 520
        ? { min: 0, max: max, orient: "horizontal", left: "center", bottom: 4, calculable: true, itemWidth: 12, itemHeight: 140,
            inRange: { color: ["#e0ecff", "#93b4f5", "#2563eb", "#1e3a8a"] } }
        : { min: 0, max: max, left: 12, bottom: 12, calculable: true, itemHeight: 110,
                   inRange: { color: ["#e0ecff", "#93b4f5", "#2563eb", "#1e3a8a"] } },
      series: [{ name: label, type: "map", map: map, roam: true, data: data, zoom: map === "world" ? 1.15 : 1.05,
                 emphasis: { label: { show: false }, itemStyle: { areaColor: "#f59e0b" } },
                 itemStyle: { borderColor: "#94a3b8", borderWidth: 0.5, areaColor: "#f1f5f9" } }] });
  }
  function regions(main) {
    main.appendChild(rangeBar(function () { App.show("regions"); }));
    var cn = main.appendChild(el("div", null, [loading()]));
    var world = main.appendChild(el("div", null, [loading()]));
    var regionCols = function (level) {
      return [{ label: t(level === "country" ? "country" : "region"), render: function (x) { return regionName(level === "country" ? x.country : x.subdivision, level); } },
        { key: "scans", label: t("scans"), num: true }, { key: "genuine", label: t("genuine"), num: true },
        { key: "not_genuine", label: t("not_genuine"), num: true }, { key: "typo", label: t("typo"), num: true },
        { key: "claims", label: t("claims"), num: true }];
    };
    var p1 = Promise.all([API.get("/api/v1/admin/analytics/regions?" + rangeQuery() + "&country=CN"), loadMap("china", "china.json")])
      .then(function (rs) {
        var r = rs[0];
        cn.textContent = "";
        if (!r.ok) { cn.appendChild(notice(r)); return; }
        var rows = r.body.regions || [];
        var c = el("div", { class: "chart map", id: "map-china" });
        cn.appendChild(el("div", { class: "grid-map" }, [card(t("china_map"), [c]),
          card(t("region"), [table(regionCols("subdivision"), rows.map(function (x) {
            x._attrs = { "data-region": x.subdivision || "unknown", "data-scans": x.scans }; return x; }), { id: "regions-cn" })])]));
        mapChart(c, "china", rows.filter(function (x) { return CN_NAMES[x.subdivision]; }).map(function (x) {
          return { name: CN_NAMES[x.subdivision], value: x.scans };
        }), t("scans"));
      });
    var p2 = Promise.all([API.get("/api/v1/admin/analytics/regions?" + rangeQuery() + "&level=country"), loadMap("world", "world.json")])
      .then(function (rs) {
        var r = rs[0];
        world.textContent = "";
        if (!r.ok) { world.appendChild(notice(r)); return; }
        var rows = r.body.regions || [];
        var c = el("div", { class: "chart map", id: "map-world" });
        world.appendChild(el("div", { class: "grid-map" }, [card(t("world_map"), [c]),
          card(t("country"), [table(regionCols("country"), rows.map(function (x) {
            x._attrs = { "data-region": x.country || "unknown", "data-scans": x.scans }; return x; }), { id: "regions-world" })])]));
        mapChart(c, "world", rows.filter(function (x) { return x.country && x.country !== "unknown"; }).map(function (x) {
          return { name: worldName(x.country), value: x.scans };
        }), t("scans"));
      });
    /* China by city (the geolocation database's city names), most scans first */
    var cities = main.appendChild(el("div", null, [loading()]));
    var p3 = API.get("/api/v1/admin/analytics/regions?" + rangeQuery() + "&country=CN&level=city").then(function (r) {
      cities.textContent = "";
      if (!r.ok) { cities.appendChild(notice(r)); return; }
      /* the scans whose city is not known are in the provinces' table above */
      var rows = (r.body.regions || []).filter(function (x) { return x.city && x.city !== "unknown"; });
      cities.appendChild(card(t("china_cities"), [table([
        { key: "city", label: t("city") },
        { label: t("region"), render: function (x) { return regionName(x.subdivision, "subdivision"); } },
        { key: "scans", label: t("scans"), num: true }, { key: "genuine", label: t("genuine"), num: true },
        { key: "not_genuine", label: t("not_genuine"), num: true }, { key: "claims", label: t("claims"), num: true }],
        rows.map(function (x) { x._attrs = { "data-city": x.city, "data-scans": x.scans }; return x; }), { id: "regions-cn-city" })]));
    });
    return Promise.all([p1, p2, p3]);
  }

  /* ---- members: analytics/members, members/search, members/{m}/timeline ---- */
  function members(main) {
    main.appendChild(rangeBar(function () { App.show("members"); }));
    var seg = main.appendChild(el("div", null, [loading()]));
    var found = el("div", { id: "member-results" });
    var phone = el("input", { type: "tel", id: "member-phone", placeholder: "139 0000 0000" });
    var form = el("form", { class: "inline-form", onsubmit: function (ev) {
      ev.preventDefault();
      found.textContent = "";
      found.appendChild(loading());
      API.get("/api/v1/admin/members/search?phone=" + encodeURIComponent(phone.value)).then(function (r) {
        found.textContent = "";
        if (!r.ok) { found.appendChild(notice(r)); return; }
        var ms = r.body.members || [];
        if (!ms.length) { found.appendChild(el("p", { class: "empty", text: t("no_members") })); return; }
        found.appendChild(table([{ key: "phone", label: t("phone") }, { key: "balance", label: t("balance"), num: true },
          { label: t("created"), render: function (m) { return I18N.time(m.created); } },
          { label: "", render: function (m) { return el("button", { type: "button", class: "ghost small", text: t("timeline"),
            onclick: function () { timeline(found, m.member); } }); } }], ms));
      });
    } }, [phone, el("button", { type: "submit", class: "primary", text: t("search") })]);
    main.appendChild(card(t("search_phone"), [form, found]));
    return API.get("/api/v1/admin/analytics/members?" + rangeQuery()).then(function (r) {
      seg.textContent = "";
      if (!r.ok) { seg.appendChild(notice(r)); return; }
      var segs = r.body.segments || [];
      seg.appendChild(el("div", { class: "kpis" }, segs.map(function (s) {
        return el("div", { class: "kpi", "data-segment": s.segment, "data-value": s.members }, [
          el("div", { class: "kpi-label", text: t("seg_" + s.segment) }),
          el("div", { class: "kpi-value", text: I18N.num(s.members) }),
          el("div", { class: "kpi-def", text: s.definition })]);
      })));
      var cohorts = r.body.cohorts || [];
      var width = cohorts.reduce(function (m, c) { return Math.max(m, (c.active || []).length); }, 0);
      var cols = [{ key: "month", label: t("month") }, { key: "members", label: t("members"), num: true }];
      for (var k = 0; k < width; k++) {
        (function (k) {
          cols.push({ label: t("month_k", { k: k }), num: true, render: function (c) {
            var v = (c.active || [])[k];
            if (v === undefined) return "";
            return el("span", { class: "cohort", "data-level": c.members ? Math.min(4, Math.ceil(v / c.members * 4)) : 0,
              text: I18N.num(v) + (c.members ? " · " + I18N.pct(v / c.members, 0) : "") });
          } });
        })(k);
      }
      seg.appendChild(card(t("cohorts"), [table(cols, cohorts)]));
    });
  }
  function timeline(into, member) {
    var box = el("div", { class: "timeline" }, [loading()]);
    into.appendChild(box);
    API.get("/api/v1/admin/members/" + encodeURIComponent(member) + "/timeline?limit=100").then(function (r) {
      box.textContent = "";
      if (!r.ok) { box.appendChild(notice(r)); return; }
      box.appendChild(el("h3", { text: t("timeline") }));
      box.appendChild(table([{ label: t("at"), render: function (e) { return I18N.time(e.at); } }, { key: "kind", label: t("kind") },
        { key: "points", label: t("points"), num: true }, { key: "product", label: t("product_col") },
        { key: "batch", label: t("batch") }, { key: "code", label: t("code") }], r.body.events || []));
    });
  }

  /* an object of the API (an alert's or audit entry's detail) as "key: value" lines */
  function detail(o) {
    if (!o || typeof o !== "object") return el("span", { class: "detail", text: o === null || o === undefined ? "–" : String(o) });
    return el("span", { class: "detail" }, Object.keys(o).filter(function (k) { return o[k] !== null; }).map(function (k) {
      var v = o[k];
      return el("span", { class: "kv" }, [el("b", { text: k }), " " + (typeof v === "object" ? JSON.stringify(v) : String(v))]);
    }));
  }

  /* ---- counterfeit: codes/suspicious, analytics/not-genuine, alerts ---- */
  function counterfeit(main) {
    main.appendChild(rangeBar(function () { App.show("counterfeit"); }));
    var ng = main.appendChild(el("div", null, [loading()]));
    var sus = main.appendChild(el("div", null, [loading()]));
    var al = main.appendChild(el("div", null, [loading()]));
    var p1 = API.get("/api/v1/admin/analytics/not-genuine?" + rangeQuery()).then(function (r) {
      ng.textContent = "";
      if (!r.ok) { ng.appendChild(card(t("ng_region"), [notice(r)])); return; }
      var c1 = el("div", { class: "chart", id: "chart-ng-region" }), c2 = el("div", { class: "chart", id: "chart-ng-hour" });
      ng.appendChild(el("div", { class: "grid2" }, [card(t("ng_region"), [c1]), card(t("ng_hour"), [c2])]));
      var reg = r.body.by_region || [], hrs = r.body.by_hour || [];
      chart(c1, { grid: { left: 96, right: 24, top: 12, bottom: 28 }, tooltip: { trigger: "axis", renderMode: "richText" },
        yAxis: { type: "category", inverse: true, data: reg.map(function (x) { return regionName(x.region, /^..$/.test(x.region) ? "country" : "subdivision"); }) },
        xAxis: { type: "value", minInterval: 1 },
        series: [{ name: t("not_genuine"), type: "bar", barMaxWidth: 18, itemStyle: { color: ROW_STYLE[2] }, data: reg.map(function (x) { return x.scans; }) }] });
      chart(c2, { grid: { left: 40, right: 16, top: 12, bottom: 28 }, tooltip: { trigger: "axis", renderMode: "richText" },
        xAxis: { type: "category", data: hrs.map(function (x) { return String(x.hour).padStart(2, "0"); }) }, yAxis: { type: "value", minInterval: 1 },
        series: [{ name: t("not_genuine"), type: "bar", itemStyle: { color: ROW_STYLE[2] }, data: hrs.map(function (x) { return x.scans; }) }] });
    });
    var p2 = API.get("/api/v1/admin/codes/suspicious?days=30&limit=100").then(function (r) {
      sus.textContent = "";
      if (!r.ok) { sus.appendChild(card(t("suspicious"), [notice(r)])); return; }
      sus.appendChild(card(t("suspicious"), [table([
        { key: "code", label: t("code") }, { label: t("batch"), render: function (c) { return "#" + c.batch + " " + (c.product ? c.product.sku : ""); } },
        { label: t("reasons"), render: function (c) {
          var rs = [];
          if (c.clients >= (r.body.min_clients || 3)) rs.push(t("r_clients", { n: c.clients }));
          if (c.refused_claims) rs.push(t("r_refused", { n: c.refused_claims }));
          if (c.scans_after_claim) rs.push(t("r_after", { n: c.scans_after_claim }));
          return el("span", null, rs.map(function (x) { return el("span", { class: "reason", text: x }); }));
        } },
        { key: "scans", label: t("scans"), num: true }, { key: "clients", label: t("clients"), num: true },
        { label: t("last_scan"), render: function (c) { return I18N.time(c.last_scan); } }], r.body.codes || [], { id: "suspicious" })]));
    });
    var p3 = alertsPart(al);
    return Promise.all([p1, p2, p3]);
  }
  function alertsPart(box) {
    return API.get("/api/v1/admin/alerts?limit=100").then(function (r) {
      box.textContent = "";
      if (!r.ok) { box.appendChild(card(t("alerts"), [notice(r)])); return; }
      var canAck = API.has("operate");
      box.appendChild(card(t("alerts"), [table([
        { label: t("raised"), render: function (a) { return I18N.time(a.raised); } }, { key: "kind", label: t("kind") },
        { key: "subject", label: t("subject") }, { key: "brand", label: t("brand") },
        { label: t("detail"), render: function (a) { return detail(a.detail); } },
        { label: t("status"), render: function (a) {
          if (a.acknowledged) return el("span", { class: "muted", text: t("acknowledged") + " · " + (a.acknowledged_by || "") });
          if (!canAck) return el("span", { class: "badge badge-open", text: t("open") });
          return el("button", { type: "button", class: "ghost small", "data-ack": a.id, text: t("acknowledge"), onclick: function (ev) {
            ev.target.disabled = true;
            API.post("/api/v1/admin/alerts/" + a.id + "/acknowledge").then(function () { alertsPart(box); });
          } });
        } }], r.body.alerts || [], { id: "alerts" })]));
    });
  }

  /* ---- print runs: batches, recall with a typed confirmation ---- */
  function runs(main) {
    var box = main.appendChild(el("div", null, [loading()]));
    var all = [];
    function page(before) {
      return API.get("/api/v1/admin/batches?limit=100" + (before ? "&before=" + before : "")).then(function (r) {
        if (!r.ok) { box.textContent = ""; box.appendChild(notice(r)); return; }
        all = all.concat(r.body.batches || []);
        draw(r.body.next_before);
      });
    }
    function draw(next) {
      box.textContent = "";
      var canRecall = API.has("operate");
      var cols = [{ label: t("batch"), render: function (b) { return "#" + b.id; } },
        { label: t("product_col"), render: function (b) { return b.product.name + " (" + b.product.sku + ")"; } },
        { label: t("status"), render: function (b) { return badge(b.status); } },
        { key: "count", label: t("codes"), num: true }, { key: "scans", label: t("scans"), num: true },
        { key: "claims", label: t("claims"), num: true },
        { label: t("claimed_share"), render: function (b) { return shareBar(b.count ? b.claims / b.count : 0); } },
        { label: t("printed"), render: function (b) { return I18N.time(b.printed); } },
        { key: "status_reason", label: t("reason") }];
      if (canRecall) cols.push({ label: "", render: function (b) {
        if (b.status !== "active") return "";
        return el("button", { type: "button", class: "danger small", "data-recall": b.id, text: t("recall"),
                              onclick: function () { recall(b); } });
      } });
      box.appendChild(card(t("runs"), [table(cols, all.map(function (b) { b._attrs = { "data-batch": b.id, "data-status": b.status }; return b; }), { id: "runs" }),
        next ? el("button", { type: "button", class: "ghost", text: t("more"), onclick: function () { page(next); } }) : null]));
    }
    return page(null);
  }
  function recall(b) {
    var dlg = document.getElementById("confirm");
    var phrase = b.product.sku + "-" + b.id;
    var typed = document.getElementById("confirm-typed"), reason = document.getElementById("confirm-reason");
    var ok = document.getElementById("confirm-ok"), err = document.getElementById("confirm-error");
    document.getElementById("confirm-title").textContent = t("recall_title", { b: phrase });
    document.getElementById("confirm-text").textContent = t("recall_text", { b: phrase, p: b.product.name, n: I18N.num(b.count) });
    document.getElementById("confirm-reason-label").textContent = t("recall_reason");
    document.getElementById("confirm-type-label").textContent = t("recall_type", { b: phrase });
    ok.textContent = t("recall");
    typed.value = ""; reason.value = ""; err.hidden = true; ok.disabled = true;
    function check() { ok.disabled = !(typed.value.trim() === phrase && reason.value.trim().length > 0); }
    typed.oninput = check; reason.oninput = check;
    document.getElementById("confirm-cancel").onclick = function () { dlg.close(); };
    document.getElementById("confirm-form").onsubmit = function (ev) {
      ev.preventDefault();
      if (typed.value.trim() !== phrase) return;
      ok.disabled = true;
      API.post("/api/v1/admin/batches/" + b.id + "/recall", { reason: reason.value.trim() }).then(function (r) {
        if (!r.ok) {
          err.textContent = t("recall_failed", { m: (r.body && r.body.message) || r.status });
          err.hidden = false; ok.disabled = false; return;
        }
        dlg.close();
        App.toast(t("recall_done", { b: phrase }));
        App.show("runs");
      });
    };
    dlg.showModal();
    typed.focus();
  }

  /* ---- audit log ---- */
  function audit(main) {
    var box = main.appendChild(el("div", null, [loading()]));
    var all = [];
    function page(before) {
      return API.get("/api/v1/admin/audit?limit=50" + (before ? "&before=" + before : "")).then(function (r) {
        box.textContent = "";
        if (!r.ok) { box.appendChild(notice(r)); return; }
        all = all.concat(r.body.entries || []);
        var next = r.body.next_before;
        box.appendChild(card(t("nav_audit"), [table([
          { label: t("at"), render: function (e) { return I18N.time(e.at); } }, { key: "actor", label: t("actor") },
          { key: "action", label: t("action") }, { key: "target", label: t("target") },
          { label: t("detail"), render: function (e) { return detail(e.detail); } },
          { key: "client", label: t("client") }], all, { id: "audit" }),
          next ? el("button", { type: "button", class: "ghost", text: t("more"), onclick: function () { page(next); } }) : null]));
      });
    }
    return page(null);
  }

  /* ---- webhooks and their deliveries ---- */
  function webhooks(main) {
    var box = main.appendChild(el("div", null, [loading()]));
    var del = main.appendChild(el("div"));
    return API.get("/api/v1/admin/webhooks").then(function (r) {
      box.textContent = "";
      if (!r.ok) { box.appendChild(card(t("webhooks"), [notice(r)])); return; }
      box.appendChild(card(t("webhooks"), [table([
        { key: "id", label: "#" }, { key: "url", label: t("url") },
        { label: t("events"), render: function (w) { return (w.events || []).join(", "); } },
        { key: "pending", label: t("pending"), num: true }, { key: "failed", label: t("failed"), num: true },
        { label: t("created"), render: function (w) { return I18N.time(w.created); } },
        { label: "", render: function (w) { return el("button", { type: "button", class: "ghost small", text: t("deliveries"),
          onclick: function () { deliveries(del, w.id); } }); } }], r.body.webhooks || [], { id: "webhooks" })]));
    });
  }
  function deliveries(box, id) {
    box.textContent = "";
    box.appendChild(loading());
    API.get("/api/v1/admin/webhooks/" + id + "/deliveries?limit=50").then(function (r) {
      box.textContent = "";
      if (!r.ok) { box.appendChild(notice(r)); return; }
      box.appendChild(card(t("deliveries") + " · #" + id, [table([
        { label: t("event"), render: function (d) { return "#" + d.event.id + " " + d.event.type; } },
        { label: t("subject"), render: function (d) { return d.event.subject; } },
        { label: t("status"), render: function (d) { return el("span", { class: "badge badge-" + d.status, text: d.status }); } },
        { label: t("attempts"), render: function (d) {
          return el("span", null, (d.attempts || []).map(function (a) {
            return el("span", { class: "attempt attempt-" + a.outcome, text: a.attempt + ": " + a.outcome + (a.http_status ? " " + a.http_status : "") + " · " + a.duration_ms + " ms" });
          }));
        } },
        { label: t("created"), render: function (d) { return I18N.time(d.event.created); } },
        { label: "", render: function (d) {
          /* the same event, delivered once more (scope admin; audited as webhook.replay) */
          return el("button", { type: "button", class: "ghost small replay", text: t("replay"),
            onclick: function () {
              API.post("/api/v1/admin/webhooks/" + id + "/deliveries/" + d.event.id + "/replay").then(function (x) {
                if (!x.ok) { box.insertBefore(notice(x), box.firstChild); return; }
                deliveries(box, id);
              });
            } });
        } }], r.body.deliveries || [], { id: "deliveries" })]));
    });
  }

  /* ---- exports: background jobs ---- */
  function exportsPage(main) {
    var list = el("div", null, [loading()]);
    var kind = el("select", { id: "export-kind" }, ["scans", "claims", "members", "ledger"].map(function (k) { return el("option", { value: k, text: t("k_" + k) }); }));
    var fmt = el("select", { id: "export-format" }, ["csv", "jsonl"].map(function (k) { return el("option", { value: k, text: k.toUpperCase() }); }));
    var from = el("input", { type: "date", value: range.from }), to = el("input", { type: "date", value: range.to });
    var msg = el("div");
    var form = el("form", { class: "inline-form", onsubmit: function (ev) {
      ev.preventDefault();
      API.post("/api/v1/admin/export-jobs", { kind: kind.value, from: from.value, to: to.value, format: fmt.value }).then(function (r) {
        msg.textContent = "";
        if (!r.ok) { msg.appendChild(notice(r)); return; }
        refresh().then(function (b) { busy = b; });
      });
    } }, [kind, from, el("span", { class: "dash", text: "–" }), to, fmt, el("button", { type: "submit", class: "primary", text: t("start") })]);
    main.appendChild(card(t("new_export"), [form, msg]));
    main.appendChild(list);
    function refresh() {
      return API.get("/api/v1/admin/export-jobs").then(function (r) {
        list.textContent = "";
        if (!r.ok) { list.appendChild(card(t("exports"), [notice(r)])); return false; }
        var jobs = r.body.jobs || [];
        list.appendChild(card(t("exports"), [table([
          { key: "job", label: t("job") }, { label: t("kind"), render: function (j) { return t("k_" + j.kind); } },
          { label: t("status"), render: function (j) { return el("span", { class: "badge badge-" + j.state, text: j.state }); } },
          { label: t("progress"), render: function (j) { return shareBar(j.progress || (j.state === "done" ? 1 : 0)); } },
          { key: "rows", label: t("rows"), num: true },
          { label: "", render: function (j) {
            /* only a link of the admin API: the page makes no other kind of link of a reply */
            if (j.state === "done" && /^\/api\/v1\/admin\/export-jobs\/\d+\/download$/.test(j.download || "")) return el("a", { href: j.download, class: "button ghost small", text: t("download") });
            return j.error ? el("span", { class: "error", text: j.error }) : "";
          } }], jobs, { id: "export-jobs" })]));
        return jobs.some(function (j) { return j.state === "queued" || j.state === "running"; });
      });
    }
    /* while a job is queued or running, its progress is asked for every 2 s */
    var busy = false;
    timers.push(setInterval(function () { if (busy) refresh().then(function (b) { busy = b; }); }, 2000));
    return refresh().then(function (b) { busy = b; });
  }

  /* ---- campaigns: the list, the editor, a campaign's prizes burn-down and winners ---- */
  function isoOf(local) { return local ? new Date(local).toISOString().replace(/\.\d{3}Z$/, "Z") : undefined; }
  function listOf(text) { return text.split(/[\s,，]+/).filter(function (x) { return x; }); }
  function campaignEditor(done) {
    var me = API.state.me || {};
    var brands = (me.brands || []).map(function (b) { return b.name; }).filter(function (n) { return n; });
    var f = {};
    function field(key, label, input) { f[key] = input; input.id = "cf-" + key; return el("label", null, [el("span", { text: label }), input]); }
    var now = new Date(), later = new Date(now.getTime() + 30 * 86400000);
    function local(d) { return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); }
    var tiers = el("div", { id: "cf-tiers" });
    function tierRow() {
      tiers.appendChild(el("div", { class: "tier-row" }, [
        el("input", { class: "tier-name", placeholder: t("prize"), maxlength: 200, "aria-label": t("prize") }),
        el("input", { class: "tier-count", type: "number", min: 1, placeholder: t("prize_count"), "aria-label": t("prize_count") }),
        el("input", { class: "tier-ppm", type: "number", min: 1, max: 1000000, placeholder: t("prize_ppm"), "aria-label": t("prize_ppm") })]));
    }
    var msg = el("div", { id: "campaign-form-msg" });
    var brandInput = brands.length ? el("select", null, brands.map(function (b) { return el("option", { value: b, text: b }); }))
                                   : el("input", { required: true, maxlength: 200 });
    var form = el("form", { class: "editor", id: "campaign-form", onsubmit: function (ev) {
      ev.preventDefault();
      var body = { brand: f.brand.value.trim(), name: f.name.value.trim(), starts_at: isoOf(f.starts_at.value), ends_at: isoOf(f.ends_at.value) };
      if (f.products.value.trim()) body.products = listOf(f.products.value);
      if (f.regions.value.trim()) body.regions = listOf(f.regions.value.toUpperCase());
      if (f.multiplier.value && Number(f.multiplier.value) !== 1) body.multiplier = Number(f.multiplier.value);
      ["bonus", "first_claim_bonus", "daily_limit"].forEach(function (k) { if (f[k].value) body[k] = Number(f[k].value); });
      if (f.ladder_every.value) body.ladder = { every: Number(f.ladder_every.value), bonus: Number(f.ladder_bonus.value || 0) };
      var prizes = [];
      Array.prototype.forEach.call(tiers.querySelectorAll(".tier-row"), function (row) {
        var n = row.querySelector(".tier-name").value.trim();
        if (n) prizes.push({ name: n, count: Number(row.querySelector(".tier-count").value), probability_ppm: Number(row.querySelector(".tier-ppm").value) });
      });
      if (prizes.length) body.prizes = prizes;
      /* money in whole fen: the yuan typed, times 100 */
      function fen(v) { return Math.round(Number(v) * 100); }
      if (f.rp_budget.value) {
        var rp = { budget: fen(f.rp_budget.value), currency: "CNY" };
        if (!f.rp_max.value || f.rp_max.value === f.rp_min.value) rp.amount = fen(f.rp_min.value);
        else { rp.min = fen(f.rp_min.value); rp.max = fen(f.rp_max.value); }
        if (f.rp_member_cap.value) rp.member_cap = fen(f.rp_member_cap.value);
        if (f.rp_daily_cap.value) rp.daily_cap = fen(f.rp_daily_cap.value);
        body.red_packet = rp;
      }
      API.post("/api/v1/admin/campaigns", body).then(function (r) {
        msg.textContent = "";
        /* the API's own refusal, said as it said it: nothing was made */
        if (!r.ok) { msg.appendChild(notice(r)); return; }
        App.toast(t("campaign_made", { name: r.body.name }));
        done(r.body);
      });
    } }, [
      el("div", { class: "editor-grid" }, [
        field("brand", t("brand"), brandInput),
        field("name", t("campaign_name"), el("input", { required: true, maxlength: 200 })),
        field("starts_at", t("starts"), el("input", { type: "datetime-local", value: local(now) })),
        field("ends_at", t("ends"), el("input", { type: "datetime-local", required: true, value: local(later) })),
        field("products", t("products_sku"), el("input", { placeholder: "TEA, TEA-500" })),
        field("regions", t("regions_iso"), el("input", { placeholder: "CN-ZJ, CN-GD" })),
        field("multiplier", t("multiplier"), el("input", { type: "number", min: 1, max: 100, step: "0.01", value: 1 })),
        field("bonus", t("bonus"), el("input", { type: "number", min: 0, max: 1000000 })),
        field("first_claim_bonus", t("first_claim_bonus"), el("input", { type: "number", min: 0, max: 1000000 })),
        field("ladder_every", t("ladder_every"), el("input", { type: "number", min: 2 })),
        field("ladder_bonus", t("ladder_bonus"), el("input", { type: "number", min: 1 })),
        field("daily_limit", t("daily_limit"), el("input", { type: "number", min: 1 }))]),
      el("h3", { text: t("red_packet") }),
      el("div", { class: "editor-grid" }, [
        field("rp_min", t("rp_min"), el("input", { type: "number", min: 0.01, step: "0.01" })),
        field("rp_max", t("rp_max"), el("input", { type: "number", min: 0.01, step: "0.01" })),
        field("rp_budget", t("rp_budget"), el("input", { type: "number", min: 0.01, step: "0.01" })),
        field("rp_member_cap", t("rp_member_cap"), el("input", { type: "number", min: 0.01, step: "0.01" })),
        field("rp_daily_cap", t("rp_daily_cap"), el("input", { type: "number", min: 0.01, step: "0.01" }))]),
      el("h3", { text: t("prizes") }),
      el("div", { class: "tier-row tier-head" }, [el("span", { class: "tier-name", text: t("prize") }),
        el("span", { class: "tier-count", text: t("prize_count") }), el("span", { class: "tier-ppm", text: t("prize_ppm") })]),
      tiers,
      el("button", { type: "button", class: "ghost small", id: "cf-add-tier", text: t("add_tier"), onclick: tierRow }),
      msg,
      el("div", { class: "buttons" }, [el("button", { type: "submit", class: "primary", id: "cf-submit", text: t("create_campaign") })])]);
    tierRow();
    return form;
  }
  /* a red packet's reconciliation: every status's count and amount, and the
   * budget as the API adds it up (budget = left + requested + sent + paid + failed) */
  function money(v, cur) { return (cur === "CNY" ? "¥" : (cur || "") + " ") + I18N.num(Math.round(v) / 100); }
  function payoutsCard(p, days) {
    var rows = ["requested", "sent", "paid", "failed", "returned", "pending", "paid_after_return"].map(function (k) {
      return { key: k, count: (p[k] || {}).count || 0, amount: (p[k] || {}).amount || 0, _attrs: { "data-payout": k } };
    });
    var pie = el("div", { class: "chart chart-small", id: "chart-payouts" });
    setTimeout(function () {
      chart(pie, { tooltip: { trigger: "item", renderMode: "richText" }, legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["40%", "68%"], label: { show: false },
          data: [{ name: t("budget_left"), value: p.budget_left }, { name: t("ps_paid"), value: p.paid.amount },
                 { name: t("ps_pending"), value: p.pending.amount }, { name: t("ps_failed"), value: p.failed.amount }]
            .map(function (x, i) { x.itemStyle = { color: ["#94a3b8", ROW_STYLE[1], ROW_STYLE[3], ROW_STYLE[2]][i] }; return x; }) }] });
    }, 0);
    /* the budget's burn-down: what was left after each UTC day of the red packets given
     * (before returns: a failed payout's amount comes back, as "returned" says) */
    var burn = el("div", { class: "chart chart-small", id: "chart-budget" });
    setTimeout(function () {
      var left = p.budget;
      chart(burn, { grid: { left: 64, right: 24, top: 24, bottom: 32 }, tooltip: { trigger: "axis", renderMode: "richText" },
        xAxis: { type: "category", data: [t("at_start")].concat(days.map(function (x) { return x.day.slice(5); })) },
        yAxis: { type: "value", min: 0, axisLabel: { formatter: function (v) { return money(v, p.currency); } } },
        series: [{ name: t("budget_left"), type: "line", step: "end", symbolSize: 5, itemStyle: { color: ROW_STYLE[0] },
                   data: [left].concat(days.map(function (x) { left -= x.red_packets || 0; return left; })) }] });
    }, 0);
    return card(t("payouts"), [
      el("div", { class: "kpis" }, [
        el("div", { class: "kpi", "data-kpi": "budget", "data-value": p.budget }, [el("div", { class: "kpi-label", text: t("rp_budget_k") }), el("div", { class: "kpi-value", text: money(p.budget, p.currency) })]),
        el("div", { class: "kpi", "data-kpi": "budget_left", "data-value": p.budget_left }, [el("div", { class: "kpi-label", text: t("budget_left") }), el("div", { class: "kpi-value", text: money(p.budget_left, p.currency) })]),
        el("div", { class: "kpi", "data-kpi": "balanced" }, [el("div", { class: "kpi-label", text: t("balanced") }),
          el("div", { class: "kpi-value " + (p.balanced ? "up" : "down"), id: "payouts-balanced", text: p.balanced ? "✓" : "✗" })])]),
      el("div", { class: "grid2" }, [pie, burn]),
      table([{ label: t("status"), render: function (x) { return el("span", { class: "badge badge-p-" + x.key, text: t("ps_" + x.key) }); } },
             { key: "count", label: t("count"), num: true },
             { label: t("amount"), num: true, render: function (x) { return money(x.amount, p.currency); } }], rows, { id: "payouts" }),
      el("p", { class: "muted", text: t("late_callbacks", { n: I18N.num(p.late_callbacks || 0) }) })]);
  }
  function campaignDetail(box, c) {
    box.textContent = "";
    box.appendChild(loading());
    return Promise.all([API.get("/api/v1/admin/campaigns/" + c.id + "/winners"),
                        API.get("/api/v1/admin/campaigns/" + c.id + "/payouts")]).then(function (rs) {
      var r = rs[0], pay = rs[1];
      box.textContent = "";
      if (!r.ok) { box.appendChild(notice(r)); return; }
      var d = r.body, days = d.days || [], prizes = d.prizes || [];
      var parts = [];
      if (!pay.ok) parts.push(card(t("payouts"), [notice(pay)]));
      else if (pay.body.red_packet) parts.push(payoutsCard(pay.body, days));
      if (prizes.length) {
        /* a tier's remaining after each day: its count less what was won up to that day */
        var left = prizes.map(function (p) { return p.count; });
        var series = prizes.map(function (p, i) {
          return { name: p.name, type: "line", step: "end", symbolSize: 5, itemStyle: { color: ROW_STYLE[i % ROW_STYLE.length] },
                   data: [p.count].concat(days.map(function (day) { left[i] -= day.won[i] || 0; return left[i]; })) };
        });
        var burn = el("div", { class: "chart", id: "chart-burndown" });
        parts.push(card(t("burndown"), [burn, table([
          { key: "tier", label: "#" }, { key: "name", label: t("prize") }, { key: "count", label: t("prize_count"), num: true },
          { key: "remaining", label: t("remaining"), num: true },
          { label: t("won"), num: true, render: function (p) { return I18N.num(p.count - p.remaining); } }], prizes, { id: "campaign-prizes" })]));
        setTimeout(function () {
          chart(burn, { grid: { left: 48, right: 24, top: 40, bottom: 32 }, legend: { top: 0 },
            tooltip: { trigger: "axis", renderMode: "richText" },
            xAxis: { type: "category", data: [t("at_start")].concat(days.map(function (x) { return x.day.slice(5); })) },
            yAxis: { type: "value", minInterval: 1, min: 0 }, series: series });
        }, 0);
      }
      var claims = el("div", { class: "chart", id: "chart-campaign-claims" });
      parts.push(card(t("campaign_claims"), [claims]));
      setTimeout(function () {
        chart(claims, { grid: { left: 48, right: 24, top: 16, bottom: 32 }, tooltip: { trigger: "axis", renderMode: "richText" },
          xAxis: { type: "category", data: days.map(function (x) { return x.day.slice(5); }) }, yAxis: { type: "value", minInterval: 1 },
          series: [{ name: t("claims"), type: "bar", barMaxWidth: 18, itemStyle: { color: ROW_STYLE[0] }, data: days.map(function (x) { return x.claims; }) }] });
      }, 0);
      parts.push(card(t("winners"), [table([
        { label: t("at"), render: function (w) { return I18N.time(w.at); } }, { key: "prize", label: t("prize") },
        { key: "member", label: t("member") }, { key: "phone", label: t("phone") }, { key: "serial", label: t("serial"), num: false }],
        d.winners || [], { id: "campaign-winners" })]));
      box.appendChild(el("div", { "data-campaign": c.id }, [el("h2", { class: "section-title", text: "#" + c.id + " " + c.name })].concat(parts)));
    });
  }
  function campaigns(main) {
    var editing = el("div");
    var box = main.appendChild(el("div", null, [loading()]));
    var detail = el("div", { id: "campaign-detail" });
    if (API.has("campaigns")) {
      main.insertBefore(el("div", { class: "toolbar" }, [el("button", { type: "button", class: "primary", id: "new-campaign", text: t("new_campaign"),
        onclick: function () {
          editing.textContent = "";
          editing.appendChild(card(t("new_campaign"), [campaignEditor(function () { editing.textContent = ""; App.show("campaigns"); })]));
        } })]), box);
      main.insertBefore(editing, box);
    }
    main.appendChild(detail);
    var flags = el("div", null, [loading()]);
    main.appendChild(flags);
    var flagged = API.get("/api/v1/admin/referrals?flagged=true&limit=50").then(function (r) {
      flags.textContent = "";
      if (!r.ok) { flags.appendChild(card(t("referral_flags"), [notice(r)])); return; }
      flags.appendChild(card(t("referral_flags"), [table([
        { label: t("at"), render: function (x) { return I18N.time(x.recorded_at); } },
        { label: t("reason"), render: function (x) { return el("span", { class: "badge badge-failed", text: t("rf_" + x.flag) }); } },
        { label: t("referrer"), render: function (x) { return (x.referrer && x.referrer.masked) || "–"; } },
        { label: t("referee"), render: function (x) { return (x.referee && x.referee.masked) || "–"; } },
        { label: t("brand"), render: function (x) { return x.brand || "–"; } }],
        (r.body.referrals || []).map(function (x) { x._attrs = { "data-flag": x.flag }; return x; }), { id: "referral-flags" })]));
    });
    var list = API.get("/api/v1/admin/campaigns").then(function (r) {
      box.textContent = "";
      if (!r.ok) { box.appendChild(card(t("nav_campaigns"), [notice(r)])); return; }
      var list = r.body.campaigns || [];
      box.appendChild(card(t("nav_campaigns"), [
        el("p", { class: "muted", id: "campaign-rule", text: t("campaign_rule") }),
        table([
          { key: "id", label: "#" }, { key: "name", label: t("campaign_name") }, { key: "brand", label: t("brand") },
          { label: t("status"), render: function (c) { return el("span", { class: "badge badge-c-" + c.status, text: t("cs_" + c.status) }); } },
          { label: t("window"), render: function (c) { return I18N.time(c.starts_at) + " – " + I18N.time(c.ended_at || c.ends_at); } },
          { label: t("rules_col"), render: function (c) {
            var parts = [];
            if (Number(c.multiplier) !== 1) parts.push("×" + c.multiplier);
            if (c.bonus) parts.push("+" + c.bonus);
            if (c.first_claim_bonus) parts.push(t("first_claim_bonus") + " +" + c.first_claim_bonus);
            if (c.ladder) parts.push(t("ladder_short", { n: c.ladder.every, b: c.ladder.bonus }));
            if (c.daily_limit) parts.push(t("daily_limit") + " " + c.daily_limit);
            if (c.regions) parts.push(c.regions.join(" "));
            var rp = c.red_packet;
            if (rp) parts.push(t("rp_short", { a: rp.amount ? money(rp.amount, rp.currency) : money(rp.min, rp.currency) + "–" + money(rp.max, rp.currency) }));
            return parts.join(" · ") || "–";
          } },
          { key: "claims", label: t("claims"), num: true },
          { label: t("prizes"), render: function (c) {
            return (c.prizes || []).map(function (p) { return p.name + " " + I18N.num(p.remaining) + "/" + I18N.num(p.count); }).join(", ") || "–";
          } },
          { label: "", render: function (c) {
            var b = [el("button", { type: "button", class: "ghost small show-campaign", text: t("show"), onclick: function () { campaignDetail(detail, c); } }),
                     el("a", { class: "button ghost small", href: "/campaigns/" + c.id, target: "_blank", rel: "noopener", text: t("rules_page") })];
            if (API.has("campaigns") && c.status !== "ended") {
              /* two clicks: the first arms the button ("End now?"), the second ends it */
              b.push(el("button", { type: "button", class: "danger small end-campaign", text: t("end"), onclick: function (ev) {
                var btn = ev.currentTarget;
                if (!btn.classList.contains("armed")) { btn.classList.add("armed"); btn.textContent = t("end_sure"); return; }
                btn.disabled = true;
                API.post("/api/v1/admin/campaigns/" + c.id + "/end").then(function (x) {
                  if (!x.ok) { box.insertBefore(notice(x), box.firstChild); return; }
                  App.toast(t("campaign_ended", { name: c.name }));
                  App.show("campaigns");
                });
              } }));
            }
            return el("span", { class: "actions" }, b);
          } }], list.map(function (c) { c._attrs = { "data-campaign-row": c.id }; return c; }), { id: "campaigns" })]));
    });
    return Promise.all([list, flagged]);
  }

  return { dispose: dispose, overview: overview, products: products, regions: regions, members: members,
           counterfeit: counterfeit, runs: runs, campaigns: campaigns, audit: audit, webhooks: webhooks, exports: exportsPage };
})();
