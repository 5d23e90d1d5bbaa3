// The page's words, one dictionary per language (en, zh-CN), and dates and
// numbers through Intl. t("key", {n: 3}) fills {n}; a key missing from a
// dictionary falls back to English, then to the key itself, so a missing
// word shows as such instead of breaking the page.

const LANG_KEY = "asp.dashboard.lang";
export const LANGS = [["en", "English"], ["zh-CN", "中文"]];

const en = {
    title: "Ops dashboard",
    sign_in: "Sign in",
    sign_out: "Sign out",
    token: "Staff token",
    token_hint: "Your platform token (supervisor, ops or admin). It is kept in this tab only.",
    not_allowed: "Not allowed here: the dashboard is for supervisors, ops and admins.",
    bad_token: "This token is not valid.",
    unreachable: "The platform cannot be reached.",
    language: "Language",
    nav_board: "Board", nav_reports: "Reports", nav_dead: "Dead letters",
    live: "live", connecting: "connecting…", reconnecting: "reconnecting…", denied: "stream refused",
    updated: "updated {time}",
    na: "—",
    tickets: "Tickets", open_tickets: "Open tickets", by_status: "By status", by_type: "By type (open)",
    queues: "Queues",
    q_unroutable: "Unroutable", q_waiting_parts: "Waiting for parts", q_waiting_customer: "Waiting for customer",
    q_survey_pending: "Survey pending", q_visits_open: "Return visits open", q_dead_letters: "Dead letters",
    sla: "SLA risk", sla_due_1h: "Breach within 1 h", sla_breached: "Breached", sla_escalated: "Escalated",
    by_region: "By region", by_partner: "By partner", region: "Region", partner: "Partner",
    partners: "Partners", p_registered: "Registered", p_connected: "Connected", p_suspended: "Suspended",
    p_load: "Load / capacity", p_offers_pending: "Offers pending", p_offers_lapsed_1h: "Offers lapsed (1 h)",
    top_partners: "Busiest partners", name: "Name", status: "Status", connected: "Connected", load: "Load",
    capacity: "Capacity", score: "Score",
    notifications: "Notifications", n_pending: "Pending", n_failing: "Failing", n_dead: "Dead letters",
    services: "Services", service: "Service", up: "Up", age: "Last seen", rate: "Requests/s",
    p50: "p50 ms", p99: "p99 ms", yes: "yes", no: "no", down: "down",
    trend: "Open tickets and breaches, live",
    recent: "Recent tickets (live)", recent_empty: "No ticket changed since you opened the board.",
    id: "Ticket", type: "Type", priority: "Priority", updated_ms: "Updated", created_ms: "Created",
    owner: "Owner", customer: "Customer", product: "Product",
    list_title: "Tickets: {what}", more: "More", no_tickets: "No tickets.", loading: "Loading…",
    partial: "The scan budget ran out: press More to go on.",
    back: "Back",
    ticket: "Ticket {id}", fields: "Fields", timeline: "Timeline", clocks: "SLA clocks",
    clock: "Clock", state: "State", due: "Due", remaining: "Remaining", level: "Level", breached: "Breached",
    time: "Time", event: "Event", detail: "Detail",
    actions: "Actions", confirm: "Confirm", cancel: "Cancel", done: "Done.",
    a_reassign: "Reassign owner", a_redispatch: "Re-dispatch", a_override: "Override partner",
    a_suspend: "Suspend partner", a_reactivate: "Reactivate partner", a_replay: "Replay",
    new_owner: "New owner", reason: "Reason", partner_id: "Partner id", note: "Note",
    confirm_q: "Really {what}?",
    partner_title: "Partner {id}", registry: "Registry entry", scorecard: "Quality scorecard",
    open_work: "Open work", window_long: "{d} days", window_short: "{d} days",
    dead_title: "Dead letters", template: "Template", channel: "Channel", attempts: "Attempts",
    last_error: "Last error", dead_ms: "Dead since",
    unroutable_title: "Unroutable tickets", since: "Since", refusals: "Refusals",
    visits_title: "Open return visits", visit: "Visit", due_ms: "Due",
    reports: "Reports", period: "Period", at: "At", by: "By", metric: "Chart",
    month: "Month", quarter: "Quarter", year: "Year", category: "Category",
    show: "Show", csv: "Download CSV", no_groups: "No figures for this period.",
    m_tickets_created: "Tickets created", m_work_orders_completed: "Work orders completed",
    m_on_time: "On time", m_sla_compliance: "SLA compliance", m_first_time_fix: "First-time fix",
    m_repeat_repair: "Repeat repair", m_install_return: "Install return", m_satisfaction: "Satisfaction (1–5)",
    m_complaints: "Complaints", m_sla_warnings: "SLA warnings", m_sla_breaches: "SLA breaches",
    m_compensation: "Compensation",
    st_received: "received", st_offered: "offered", st_assigned: "assigned", st_in_progress: "in progress",
    st_completed: "completed", st_visit_scheduled: "visit scheduled", st_closed: "closed", st_cancelled: "cancelled",
    ps_active: "active", ps_suspended: "suspended", ps_removed: "removed",
    sc_score: "Score", sc_on_time: "On time", sc_first_fix: "First-time fix", sc_repeat: "No repeat repair",
    sc_install_return: "No install return", sc_satisfaction: "Satisfaction", sc_complaints: "No complaint",
    sc_sla: "No SLA breach", sc_breaches: "SLA breaches", sc_samples: "Samples",
    ty_repair: "repair", ty_installation: "installation", ty_maintenance: "maintenance", ty_complaint: "complaint",
    ty_consultation: "consultation", ty_return: "return",
};

const zh = {
    title: "运维看板",
    sign_in: "登录",
    sign_out: "退出",
    token: "员工令牌",
    token_hint: "平台令牌（主管、运维或管理员），只保存在本标签页中。",
    not_allowed: "无权访问：看板仅供主管、运维和管理员使用。",
    bad_token: "令牌无效。",
    unreachable: "无法连接平台。",
    language: "语言",
    nav_board: "看板", nav_reports: "报表", nav_dead: "死信",
    live: "实时", connecting: "连接中…", reconnecting: "重新连接中…", denied: "数据流被拒绝",
    updated: "更新于 {time}",
    na: "—",
    tickets: "工单", open_tickets: "未结工单", by_status: "按状态", by_type: "按类型（未结）",
    queues: "队列",
    q_unroutable: "无法派单", q_waiting_parts: "等待配件", q_waiting_customer: "等待客户",
    q_survey_pending: "待回访调查", q_visits_open: "待回访", q_dead_letters: "死信",
    sla: "SLA 风险", sla_due_1h: "1 小时内将超时", sla_breached: "已超时", sla_escalated: "已升级",
    by_region: "按地区", by_partner: "按网点", region: "地区", partner: "网点",
    partners: "服务网点", p_registered: "已登记", p_connected: "在线", p_suspended: "已暂停",
    p_load: "负载 / 容量", p_offers_pending: "待接派单", p_offers_lapsed_1h: "超时未接（1 小时）",
    top_partners: "最忙的网点", name: "名称", status: "状态", connected: "在线", load: "负载",
    capacity: "容量", score: "评分",
    notifications: "通知", n_pending: "待发送", n_failing: "发送失败", n_dead: "死信",
    services: "服务", service: "服务", up: "运行", age: "最近上报", rate: "请求/秒",
    p50: "p50 毫秒", p99: "p99 毫秒", yes: "是", no: "否", down: "停止",
    trend: "未结工单与超时（实时）",
    recent: "最新工单（实时）", recent_empty: "打开看板后还没有工单变化。",
    id: "工单", type: "类型", priority: "优先级", updated_ms: "更新时间", created_ms: "创建时间",
    owner: "负责人", customer: "客户", product: "产品",
    list_title: "工单：{what}", more: "更多", no_tickets: "没有工单。", loading: "加载中…",
    partial: "扫描额度已用完：点“更多”继续。",
    back: "返回",
    ticket: "工单 {id}", fields: "字段", timeline: "时间线", clocks: "SLA 时钟",
    clock: "时钟", state: "状态", due: "到期", remaining: "剩余", level: "级别", breached: "已超时",
    time: "时间", event: "事件", detail: "详情",
    actions: "操作", confirm: "确认", cancel: "取消", done: "已完成。",
    a_reassign: "改派负责人", a_redispatch: "重新派单", a_override: "指定网点",
    a_suspend: "暂停网点", a_reactivate: "恢复网点", a_replay: "重发",
    new_owner: "新负责人", reason: "原因", partner_id: "网点编号", note: "备注",
    confirm_q: "确定要{what}吗？",
    partner_title: "网点 {id}", registry: "登记信息", scorecard: "质量评分卡",
    open_work: "未完成工作", window_long: "{d} 天", window_short: "{d} 天",
    dead_title: "死信", template: "模板", channel: "渠道", attempts: "尝试次数",
    last_error: "最后错误", dead_ms: "失败时间",
    unroutable_title: "无法派单的工单", since: "开始于", refusals: "拒单次数",
    visits_title: "待回访", visit: "回访", due_ms: "到期",
    reports: "报表", period: "周期", at: "时间", by: "维度", metric: "图表",
    month: "月", quarter: "季度", year: "年", category: "类别",
    show: "查询", csv: "下载 CSV", no_groups: "该周期没有数据。",
    m_tickets_created: "新建工单", m_work_orders_completed: "完成工单",
    m_on_time: "准时率", m_sla_compliance: "SLA 达标率", m_first_time_fix: "一次修复率",
    m_repeat_repair: "返修率", m_install_return: "初装返修率", m_satisfaction: "满意度（1–5）",
    m_complaints: "投诉", m_sla_warnings: "SLA 预警", m_sla_breaches: "SLA 超时",
    m_compensation: "赔付",
    st_received: "已受理", st_offered: "派单中", st_assigned: "已接单", st_in_progress: "服务中",
    st_completed: "已完工", st_visit_scheduled: "待回访", st_closed: "已关闭", st_cancelled: "已取消",
    ps_active: "正常", ps_suspended: "已暂停", ps_removed: "已移除",
    sc_score: "综合评分", sc_on_time: "准时", sc_first_fix: "一次修复", sc_repeat: "无返修",
    sc_install_return: "无初装返修", sc_satisfaction: "满意度", sc_complaints: "无投诉",
    sc_sla: "无 SLA 超时", sc_breaches: "SLA 超时", sc_samples: "样本数",
    ty_repair: "维修", ty_installation: "安装", ty_maintenance: "保养", ty_complaint: "投诉",
    ty_consultation: "咨询", ty_return: "退货",
};

const DICTS = { en, "zh-CN": zh };

let lang = localStorage.getItem(LANG_KEY) || (navigator.language && navigator.language.startsWith("zh") ? "zh-CN" : "en");
if (!DICTS[lang]) lang = "en";
document.documentElement.lang = lang;

export function getLang() { return lang; }

export function setLang(l) {
    if (!DICTS[l]) return;
    lang = l;
    localStorage.setItem(LANG_KEY, l);
    document.documentElement.lang = l;
    numFmt = new Intl.NumberFormat(lang);
    timeFmt = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" });
}

export function t(key, vars) {
    let s = DICTS[lang][key];
    if (s === undefined) s = en[key];
    if (s === undefined) s = key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
    return s;
}

// A vocabulary word (status, type): its translation when there is one.
export function word(prefix, w) {
    if (w === null || w === undefined || w === "") return t("na");
    const k = prefix + "_" + w;
    return DICTS[lang][k] !== undefined || en[k] !== undefined ? t(k) : String(w);
}

let numFmt = new Intl.NumberFormat(lang);
let timeFmt = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" });

// A number, or "—" when the platform could not say (null).
export function num(n, digits) {
    if (n === null || n === undefined || Number.isNaN(n)) return t("na");
    if (digits !== undefined)
        return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(n);
    return numFmt.format(n);
}

export function time(ms) {
    if (ms === null || ms === undefined) return t("na");
    return timeFmt.format(new Date(ms));
}

// A duration in ms as "1 h 5 min" / "-12 min" (overdue).
export function duration(ms) {
    if (ms === null || ms === undefined) return t("na");
    const sign = ms < 0 ? "-" : "";
    let s = Math.round(Math.abs(ms) / 1000);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s %= 60;
    const unit = (v, u) => new Intl.NumberFormat(lang, { style: "unit", unit: u, unitDisplay: "short" }).format(v);
    if (h) return sign + unit(h, "hour") + " " + unit(m, "minute");
    if (m) return sign + unit(m, "minute");
    return sign + unit(s, "second");
}

export function percent(rate) {
    if (rate === null || rate === undefined) return t("na");
    return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }).format(rate);
}
