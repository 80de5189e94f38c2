//! Word lists for the demo's company names, people and free-text fields.
//!
//! Everything is ASCII so that names turn into e-mail addresses and domains
//! without transliteration. Domains use the reserved `.example` top-level
//! domain so that no generated address can reach a real mailbox.

/// The fictional vendor whose customers the demo simulates.
pub(super) const VENDOR_DOMAIN: &str = "lumenmetrics.example";

pub(super) const FIRST_NAMES: [&str; 40] = [
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
    "Liam", "Maya", "Noah", "Olivia", "Pedro", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Dmitri", "Esther", "Felix",
    "Greta", "Hassan", "Ingrid", "Jamal", "Keiko", "Lucas", "Mei", "Nadia",
];

pub(super) const LAST_NAMES: [&str; 40] = [
    "Adams",
    "Baker",
    "Castro",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Mensah",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Umeh",
    "Varga",
    "Wang",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Andersson",
    "Bianchi",
    "Chen",
    "Dlamini",
    "Evans",
    "Ferreira",
    "Gupta",
    "Hughes",
    "Ivanova",
    "Jovanovic",
    "Kim",
    "Larsen",
    "Moreau",
    "Novak",
];

const COMPANY_STEMS: [&str; 48] = [
    "Apex",
    "Blue Harbor",
    "Cedar",
    "Crestline",
    "Driftwood",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Harborview",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Meridian",
    "Northgate",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Silverline",
    "Tidewater",
    "Summit",
    "Vantage",
    "Westbrook",
    "Yellowpine",
    "Zenith",
    "Amberfield",
    "Brightwater",
    "Copperleaf",
    "Dunmore",
    "Eastwind",
    "Fairhaven",
    "Goldcrest",
    "Highland",
    "Indigo",
    "Larkspur",
    "Maplewood",
    "Nimbus",
    "Orchard",
    "Pioneer",
    "Riverside",
    "Stonebridge",
    "Thornbury",
    "Upland",
    "Wildflower",
    "Bramble",
    "Clearwater",
    "Falcon",
];

/// Industries with their share of accounts and the name suffixes they use.
pub(super) const INDUSTRIES: [(&str, f64, [&str; 4]); 9] = [
    ("Software", 0.22, ["Labs", "Software", "Systems", "Cloud"]),
    (
        "Financial Services",
        0.13,
        ["Capital", "Financial", "Bank", "Partners"],
    ),
    ("Healthcare", 0.12, ["Health", "Medical", "Care", "Clinics"]),
    ("Retail", 0.12, ["Goods", "Outfitters", "Market", "Stores"]),
    (
        "Manufacturing",
        0.12,
        ["Industries", "Manufacturing", "Works", "Fabrication"],
    ),
    (
        "Education",
        0.08,
        ["Academy", "Learning", "College", "Schools"],
    ),
    (
        "Media",
        0.08,
        ["Media", "Studios", "Publishing", "Broadcasting"],
    ),
    (
        "Logistics",
        0.08,
        ["Logistics", "Freight", "Shipping", "Transport"],
    ),
    (
        "Professional Services",
        0.05,
        ["Consulting", "Advisory", "Group", "Associates"],
    ),
];

/// A company name and a matching DNS label, e.g. ("Cedar Freight", "cedar-freight").
pub(super) fn company(stem: usize, industry: usize, suffix: usize) -> (String, String) {
    let name = format!(
        "{} {}",
        COMPANY_STEMS[stem % COMPANY_STEMS.len()],
        INDUSTRIES[industry].2[suffix % 4]
    );
    let slug = name.to_ascii_lowercase().replace(' ', "-");
    (name, slug)
}

pub(super) const COMPANY_STEM_COUNT: usize = COMPANY_STEMS.len();

pub(super) const DASHBOARD_PROPS: [&str; 5] = [
    r#"{"dashboard":"overview"}"#,
    r#"{"dashboard":"revenue"}"#,
    r#"{"dashboard":"pipeline"}"#,
    r#"{"dashboard":"operations"}"#,
    r#"{"dashboard":"team"}"#,
];

pub(super) const REPORT_PROPS: [&str; 6] = [
    r#"{"template":"weekly-summary"}"#,
    r#"{"template":"cohort"}"#,
    r#"{"template":"funnel"}"#,
    r#"{"template":"forecast"}"#,
    r#"{"template":"custom"}"#,
    r#"{"template":"board-pack"}"#,
];

pub(super) const EXPORT_PROPS: [&str; 3] = [
    r#"{"format":"csv"}"#,
    r#"{"format":"xlsx"}"#,
    r#"{"format":"pdf"}"#,
];

pub(super) const INVITE_PROPS: [&str; 3] = [
    r#"{"role":"member"}"#,
    r#"{"role":"viewer"}"#,
    r#"{"role":"admin"}"#,
];

pub(super) const API_PROPS: [&str; 6] = [
    r#"{"endpoint":"/v1/reports","status":200}"#,
    r#"{"endpoint":"/v1/metrics","status":200}"#,
    r#"{"endpoint":"/v1/exports","status":200}"#,
    r#"{"endpoint":"/v1/metrics","status":200}"#,
    r#"{"endpoint":"/v1/reports","status":429}"#,
    r#"{"endpoint":"/v1/exports","status":500}"#,
];

pub(super) const INTEGRATIONS: [&str; 5] =
    ["salesforce", "hubspot", "snowflake", "bigquery", "slack"];

pub(super) const NPS_DETRACTOR: [&str; 5] = [
    "Too many bugs lately and support is slow to respond.",
    "We are not getting the value we expected for the price.",
    "Reports take too long to set up.",
    "Our main contact left and nobody uses it much any more.",
    "The integration keeps breaking.",
];
pub(super) const NPS_PASSIVE: [&str; 4] = [
    "Does the job, but the learning curve is steep.",
    "Good product; a few features are missing for us.",
    "Fine overall. Exports could be faster.",
    "Useful, though only part of the team has adopted it.",
];
pub(super) const NPS_PROMOTER: [&str; 5] = [
    "Our weekly reporting now takes minutes instead of hours.",
    "Great product and a very responsive CSM.",
    "The Salesforce sync is a game changer for us.",
    "Everyone on the team uses the dashboards every day.",
    "Easy to roll out and the support team is excellent.",
];
pub(super) const CSAT_COMMENTS: [&str; 4] = [
    "Quick and helpful answer.",
    "Took several back-and-forths to resolve.",
    "Still waiting for a proper fix.",
    "Solved on the first reply, thanks!",
];

pub(super) const NOTES_ONBOARDING: [&str; 3] = [
    "Kick-off call: agreed goals, admins and a rollout plan.",
    "Onboarding session: connected data sources and built the first dashboard.",
    "Training for end users on reports and exports.",
];
pub(super) const NOTES_CHECK_IN: [&str; 4] = [
    "Routine check-in; no open issues.",
    "Checked on the reporting rollout and answered questions.",
    "Check-in with the admin about new team members.",
    "Shared tips on scheduled reports.",
];
pub(super) const NOTES_REVIEW: [&str; 3] = [
    "Business review: adoption, outcomes and goals for next quarter.",
    "Reviewed ROI and the renewal timeline with the sponsor.",
    "Business review with the executive sponsor; discussed expansion to new teams.",
];
pub(super) const NOTES_ESCALATION_SUPPORT: [&str; 2] = [
    "Escalation call about an urgent support issue.",
    "Call with the sponsor about repeated incidents and the fix plan.",
];
pub(super) const NOTES_ESCALATION_USAGE: [&str; 2] = [
    "Save call: usage has dropped; agreed a re-onboarding plan.",
    "Call about declining adoption and the value the team is getting.",
];
