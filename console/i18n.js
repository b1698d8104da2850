/* i18n.js: the console's words in English and Simplified Chinese. The
 * language is the one chosen with the switch (kept in localStorage), else the
 * browser's first (navigator.languages: what it sends as Accept-Language). */
"use strict";
var I18N = (function () {
  var T = {
    en: {
      product: "packcode console", other_lang: "中文", signin_title: "Sign in", name: "Name",
      password: "Password", totp: "Authenticator code", signin: "Sign in", signout: "Sign out",
      signin_failed: "The name, password or code is wrong.", signin_locked: "Too many failures: try again in {s} s.",
      signin_unavailable: "The service is unavailable; try again shortly.", cancel: "Cancel",
      nav_overview: "Overview", nav_products: "Products", nav_regions: "Regions", nav_members: "Members",
      nav_counterfeit: "Counterfeit", nav_runs: "Print runs", nav_audit: "Audit log", nav_webhooks: "Webhooks",
      nav_exports: "Exports", all_brands: "all brands", brands: "Brands",
      range: "Range", from: "From", to: "To", apply: "Apply", days7: "7 days", days14: "14 days", days30: "30 days",
      scans: "Scans", scanners: "Distinct scanners", scanners_day: "Scanners, last day", claims: "Claims",
      points: "Points issued", points_spent: "Points spent", spent_group: "Spends belong to the group, not to a brand: not shown for a brand-limited account.", genuine: "Genuine", not_genuine: "Not genuine", typo: "Typo",
      wow: "vs. week before", per_day: "Per day", day: "Day", no_change: "no data a week before",
      verdicts: "Verdicts per day", claims_points: "Claims and points per day",
      product_col: "Product", brand: "Brand", batch: "Print run", status: "State", codes: "Codes",
      claimed: "Claimed", claimed_share: "Claimed share", by_product: "By product and print run",
      st_active: "active", st_recalled: "recalled", st_void: "void", st_minting: "minting", st_inactive: "inactive", st_expired: "expired",
      china_map: "China by province", china_cities: "China by city", city: "City", world_map: "World by country", region: "Region", country: "Country",
      unknown: "unknown", no_data: "No data in this range.",
      not_available: "Not available on this server yet", not_available_text: "This server does not answer {path} (404). The page works once that endpoint is deployed.",
      forbidden: "Your account may not see this", forbidden_text: "It needs the {scope} scope.",
      error: "Something went wrong", retry: "Retry",
      segments: "Segments", segment: "Segment", members: "Members", definition: "Definition",
      seg_new: "New", seg_repeat: "Repeat", seg_lapsed: "Lapsed", seg_top: "Top",
      cohorts: "Cohorts by first-claim month", month: "Month", month_k: "Month +{k}",
      search_phone: "Find a member by phone", search: "Search", phone: "Phone", balance: "Balance", created: "Created",
      timeline: "Timeline", at: "At", kind: "Kind", code: "Code", no_members: "No member with that phone.",
      suspicious: "Suspicious codes", reasons: "Reasons", clients: "Addresses", refused_claims: "Refused claims",
      scans_after_claim: "Scans after claim", first_scan: "First scan", last_scan: "Last scan",
      r_clients: "{n} addresses", r_refused: "{n} refused claims", r_after: "{n} scans after its claim",
      ng_region: "Not-genuine scans by region", ng_hour: "Not-genuine scans by hour (UTC)", hour: "Hour",
      alerts: "Alerts", raised: "Raised", subject: "Subject", detail: "Detail", acknowledge: "Acknowledge",
      acknowledged: "Acknowledged", open: "open", rules: "Alert rules", threshold: "Threshold", window: "Window",
      runs: "Print runs", printed: "Printed", reason: "Reason", recall: "Recall", recall_title: "Recall print run {b}",
      recall_text: "Every code of print run {b} ({p}, {n} codes) will answer “recalled” on its page, lookups and claims, within a second.",
      recall_reason: "Reason (kept in the audit log)", recall_type: "Type {b} to confirm",
      recall_done: "Print run {b} is recalled.", recall_failed: "Not recalled: {m}", more: "More",
      actor: "Actor", action: "Action", target: "Target", client: "Client",
      webhooks: "Subscriptions", url: "URL", events: "Events", pending: "Pending", failed: "Failed",
      deliveries: "Deliveries", replay: "Deliver again", event: "Event", attempts: "Attempts", outcome: "Outcome", show: "Show",
      exports: "Export jobs", new_export: "New export", format: "Format", start: "Start", progress: "Progress",
      rows: "Rows", download: "Download", job: "Job", k_scans: "scans", k_claims: "claims", k_members: "members", k_ledger: "ledger",
      loading: "Loading…", none: "None.",
      nav_campaigns: "Campaigns", new_campaign: "New campaign", create_campaign: "Create campaign",
      campaign_made: "Campaign “{name}” is made.", campaign_ended: "Campaign “{name}” has ended; its secret is published.",
      campaign_rule: "Several campaigns can match one claim: multipliers multiply the product's points (rounded down), then every campaign's bonuses add. A daily limit counts the claims a campaign applied to; prizes are drawn per campaign, at most one tier each.",
      starts: "Starts", ends: "Ends", products_sku: "Products (SKUs; none: every product)", regions_iso: "Regions (ISO codes; none: everywhere)",
      multiplier: "Multiplier", bonus: "Bonus points", first_claim_bonus: "First-claim bonus", ladder_every: "Ladder: every Nth claim",
      ladder_bonus: "Ladder bonus", daily_limit: "Daily limit per member", prizes: "Prizes", prize: "Prize", prize_count: "Count",
      prize_ppm: "Chance (per million)", add_tier: "Add a prize tier", cs_active: "active", cs_scheduled: "scheduled", cs_ended: "ended",
      rules_col: "Rules", ladder_short: "every {n}th +{b}", rules_page: "Rules page", end: "End", end_sure: "End now?",
      burndown: "Prizes left (burn-down)", remaining: "Left", won: "Won", campaign_claims: "Claims it applied to, per day",
      winners: "Latest winners (masked)", member: "Member", serial: "Serial", at_start: "start", campaign_name: "Name",
      red_packet: "Cash red packet (optional; yuan)", rp_min: "Amount, or the least", rp_max: "The most (random between)",
      rp_budget: "Budget", rp_member_cap: "Per member, in all", rp_daily_cap: "Per member per day",
      payouts: "Red packet payouts", rp_budget_k: "Budget", budget_left: "Budget left", balanced: "Adds up",
      ps_requested: "requested", ps_sent: "sent", ps_paid: "paid", ps_failed: "failed", ps_returned: "returned",
      ps_pending: "pending", ps_paid_after_return: "paid after return", count: "Count", amount: "Amount",
      late_callbacks: "{n} late callbacks changed nothing.", referral_flags: "Referral flags (farms refused)",
      referrer: "Referrer", referee: "Friend", rf_same_phone: "same phone", rf_same_device: "same device",
      rf_same_address: "same address", rf_daily_max: "too many a day", rp_short: "red packet {a}"
    },
    "zh-CN": {
      product: "packcode 品牌控制台", other_lang: "English", signin_title: "登录", name: "用户名",
      password: "密码", totp: "动态验证码", signin: "登录", signout: "退出登录",
      signin_failed: "用户名、密码或验证码错误。", signin_locked: "失败次数过多，请 {s} 秒后再试。",
      signin_unavailable: "服务暂不可用，请稍后再试。", cancel: "取消",
      nav_overview: "概览", nav_products: "产品", nav_regions: "地区", nav_members: "会员",
      nav_counterfeit: "防伪", nav_runs: "批次", nav_audit: "审计日志", nav_webhooks: "Webhook",
      nav_exports: "导出", all_brands: "全部品牌", brands: "品牌",
      range: "时间范围", from: "开始", to: "结束", apply: "应用", days7: "7 天", days14: "14 天", days30: "30 天",
      scans: "扫码次数", scanners: "扫码人数", scanners_day: "扫码人数（末日）", claims: "领取次数",
      points: "发放积分", points_spent: "消耗积分", spent_group: "积分消耗属于集团，不属于品牌：限定品牌的账号不显示。", genuine: "正品", not_genuine: "非正品", typo: "输入错误",
      wow: "较上周同日", per_day: "每日", day: "日期", no_change: "上周无数据",
      verdicts: "每日验证结果", claims_points: "每日领取与积分",
      product_col: "产品", brand: "品牌", batch: "批次", status: "状态", codes: "码数",
      claimed: "已领取", claimed_share: "领取率", by_product: "按产品和批次",
      st_active: "生效", st_recalled: "已召回", st_void: "作废", st_minting: "生成中", st_inactive: "未激活", st_expired: "已过期",
      china_map: "中国（按省份）", china_cities: "中国（按城市）", city: "城市", world_map: "全球（按国家）", region: "地区", country: "国家",
      unknown: "未知", no_data: "此范围内没有数据。",
      not_available: "此服务器暂不支持", not_available_text: "此服务器没有 {path} 接口（404）。部署该接口后本页即可使用。",
      forbidden: "您的账号无权查看", forbidden_text: "需要 {scope} 权限。",
      error: "出错了", retry: "重试",
      segments: "会员分群", segment: "分群", members: "会员数", definition: "定义",
      seg_new: "新会员", seg_repeat: "复购会员", seg_lapsed: "流失会员", seg_top: "头部会员",
      cohorts: "按首次领取月份的同期群", month: "月份", month_k: "第 {k} 月",
      search_phone: "按手机号查找会员", search: "查找", phone: "手机号", balance: "积分余额", created: "注册时间",
      timeline: "时间线", at: "时间", kind: "类型", code: "码", no_members: "没有该手机号的会员。",
      suspicious: "可疑码", reasons: "原因", clients: "地址数", refused_claims: "被拒领取",
      scans_after_claim: "领取后扫码", first_scan: "首次扫码", last_scan: "最近扫码",
      r_clients: "{n} 个地址", r_refused: "{n} 次被拒领取", r_after: "领取后又扫 {n} 次",
      ng_region: "非正品扫码（按地区）", ng_hour: "非正品扫码（按小时，UTC）", hour: "小时",
      alerts: "告警", raised: "触发时间", subject: "对象", detail: "详情", acknowledge: "确认",
      acknowledged: "已确认", open: "未处理", rules: "告警规则", threshold: "阈值", window: "时间窗",
      runs: "批次", printed: "印刷时间", reason: "原因", recall: "召回", recall_title: "召回批次 {b}",
      recall_text: "批次 {b}（{p}，{n} 个码）的每个码将在一秒内在落地页、查询和领取中显示“已召回”。",
      recall_reason: "原因（记入审计日志）", recall_type: "输入 {b} 以确认",
      recall_done: "批次 {b} 已召回。", recall_failed: "未召回：{m}", more: "更多",
      actor: "操作者", action: "操作", target: "对象", client: "客户端",
      webhooks: "订阅", url: "URL", events: "事件", pending: "待发送", failed: "失败",
      deliveries: "投递记录", replay: "重新投递", event: "事件", attempts: "尝试", outcome: "结果", show: "查看",
      exports: "导出任务", new_export: "新建导出", format: "格式", start: "开始", progress: "进度",
      rows: "行数", download: "下载", job: "任务", k_scans: "扫码", k_claims: "领取", k_members: "会员", k_ledger: "积分流水",
      loading: "加载中…", none: "无。",
      nav_campaigns: "营销活动", new_campaign: "新建活动", create_campaign: "创建活动",
      campaign_made: "活动“{name}”已创建。", campaign_ended: "活动“{name}”已结束，其密钥已公开。",
      campaign_rule: "一次领取可同时命中多个活动：先把产品积分乘以各活动的倍数（向下取整），再加上各活动的奖励积分。每日上限只计该活动生效的领取；奖品按活动分别抽取，每个活动最多中一个等级。",
      starts: "开始", ends: "结束", products_sku: "产品（SKU；留空：全部产品）", regions_iso: "地区（ISO 代码；留空：不限地区）",
      multiplier: "积分倍数", bonus: "奖励积分", first_claim_bonus: "首次领取奖励", ladder_every: "阶梯：每第 N 次领取",
      ladder_bonus: "阶梯奖励", daily_limit: "每人每日上限", prizes: "奖品", prize: "奖品", prize_count: "数量",
      prize_ppm: "中奖概率（百万分之）", add_tier: "添加奖品等级", cs_active: "进行中", cs_scheduled: "未开始", cs_ended: "已结束",
      rules_col: "规则", ladder_short: "每第 {n} 次 +{b}", rules_page: "规则页", end: "结束", end_sure: "确定结束？",
      burndown: "剩余奖品（消耗）", remaining: "剩余", won: "已中", campaign_claims: "每日生效的领取",
      winners: "最新中奖者（已脱敏）", member: "会员", serial: "序号", at_start: "开始", campaign_name: "活动名称",
      red_packet: "现金红包（可选；元）", rp_min: "金额，或最小金额", rp_max: "最大金额（随机）",
      rp_budget: "预算", rp_member_cap: "每人累计上限", rp_daily_cap: "每人每日上限",
      payouts: "红包发放", rp_budget_k: "预算", budget_left: "剩余预算", balanced: "对账平衡",
      ps_requested: "待发送", ps_sent: "已发送", ps_paid: "已到账", ps_failed: "失败", ps_returned: "已退回",
      ps_pending: "处理中", ps_paid_after_return: "退回后到账", count: "笔数", amount: "金额",
      late_callbacks: "{n} 次迟到回调未改变状态。", referral_flags: "推荐风控（已拒绝的刷单）",
      referrer: "推荐人", referee: "好友", rf_same_phone: "同一手机号", rf_same_device: "同一设备",
      rf_same_address: "同一地址", rf_daily_max: "单日过多", rp_short: "红包 {a}"
    }
  };
  function pick() {
    var saved = null;
    try { saved = localStorage.getItem("pc_console_lang"); } catch (e) { /* private mode */ }
    if (saved && T[saved]) return saved;
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf("zh") === 0) return "zh-CN";
      if (l.indexOf("en") === 0) return "en";
    }
    return "en";
  }
  var lang = pick();
  function t(key, vars) {
    var s = (T[lang] && T[lang][key]) || T.en[key] || key;
    if (vars) s = s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] !== undefined ? String(vars[k]) : m; });
    return s;
  }
  function set(l) {
    lang = T[l] ? l : "en";
    try { localStorage.setItem("pc_console_lang", lang); } catch (e) { /* private mode */ }
  }
  var nf = null;
  function num(n) {
    if (n === null || n === undefined) return "–";
    if (!nf || nf.lang !== lang) { nf = new Intl.NumberFormat(lang); nf.lang = lang; }
    return nf.format(n);
  }
  function pct(p, digits) {
    if (p === null || p === undefined) return "–";
    return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: digits === undefined ? 1 : digits }).format(p);
  }
  function time(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString(lang, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "UTC", hour12: false }) + " UTC";
  }
  return { t: t, set: set, lang: function () { return lang; }, num: num, pct: pct, time: time };
})();
