//! The kinds of data Tenure imports and exports (README.md, "Import your own
//! data"), with their file columns.

use std::fmt;
use std::str::FromStr;

/// A kind of record, as named on the command line (`tenure import accounts FILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Accounts,
    Contacts,
    Subscriptions,
    Events,
    Tickets,
    SurveyResponses,
    Engagements,
}

/// One column of an import file.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
}

const fn req(name: &'static str) -> Field {
    Field {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> Field {
    Field {
        name,
        required: false,
    }
}

const ACCOUNTS_FIELDS: &[Field] = &[
    req("id"),
    req("name"),
    opt("industry"),
    opt("employees"),
    opt("region"),
    opt("plan"),
    opt("csm_email"),
    opt("created_at"),
    opt("trial_start"),
    opt("trial_end"),
];

const CONTACTS_FIELDS: &[Field] = &[
    req("id"),
    req("account_id"),
    req("email"),
    opt("name"),
    opt("role"),
    opt("champion"),
    opt("left_on"),
];

const SUBSCRIPTIONS_FIELDS: &[Field] = &[
    req("id"),
    req("account_id"),
    req("mrr"),
    opt("currency"),
    opt("plan"),
    opt("seats"),
    req("start_date"),
    opt("end_date"),
    opt("renewal_date"),
];

const EVENTS_FIELDS: &[Field] = &[
    req("timestamp"),
    req("account_id"),
    req("user_id"),
    req("event"),
    opt("properties"),
    opt("message_id"),
];

const TICKETS_FIELDS: &[Field] = &[
    req("id"),
    req("account_id"),
    req("opened_at"),
    opt("closed_at"),
    opt("priority"),
    opt("first_contact_resolved"),
    opt("csat"),
    opt("subject"),
    opt("description"),
];

const SURVEY_RESPONSES_FIELDS: &[Field] = &[
    req("id"),
    req("account_id"),
    opt("contact_id"),
    req("kind"),
    req("score"),
    req("responded_at"),
    opt("comment"),
];

const ENGAGEMENTS_FIELDS: &[Field] = &[
    req("id"),
    req("account_id"),
    req("kind"),
    req("occurred_at"),
    opt("csm_email"),
    opt("notes"),
];

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Accounts,
        Kind::Contacts,
        Kind::Subscriptions,
        Kind::Events,
        Kind::Tickets,
        Kind::SurveyResponses,
        Kind::Engagements,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Accounts => "accounts",
            Kind::Contacts => "contacts",
            Kind::Subscriptions => "subscriptions",
            Kind::Events => "events",
            Kind::Tickets => "tickets",
            Kind::SurveyResponses => "survey_responses",
            Kind::Engagements => "engagements",
        }
    }

    /// The table that holds this kind.
    pub fn table(&self) -> &'static str {
        self.as_str()
    }

    /// The file name `tenure demo --out` and the docs use for this kind.
    pub fn file_name(&self) -> String {
        match self {
            Kind::Events => "events.ndjson".to_string(),
            k => format!("{}.csv", k.as_str()),
        }
    }

    /// The columns of this kind's import files, in the order exports write them.
    pub fn fields(&self) -> &'static [Field] {
        match self {
            Kind::Accounts => ACCOUNTS_FIELDS,
            Kind::Contacts => CONTACTS_FIELDS,
            Kind::Subscriptions => SUBSCRIPTIONS_FIELDS,
            Kind::Events => EVENTS_FIELDS,
            Kind::Tickets => TICKETS_FIELDS,
            Kind::SurveyResponses => SURVEY_RESPONSES_FIELDS,
            Kind::Engagements => ENGAGEMENTS_FIELDS,
        }
    }

    /// Index of a file column by name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    /// True for kinds keyed by an `id` column (all but events).
    pub fn has_id(&self) -> bool {
        !matches!(self, Kind::Events)
    }

    /// True when the kind's rows belong to an account that must exist.
    pub fn has_account(&self) -> bool {
        !matches!(self, Kind::Accounts)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a kind name Tenure does not know.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown kind {0:?}: expected one of accounts, contacts, subscriptions, events, tickets, survey_responses, engagements"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == norm || (norm == "surveys" && *k == Kind::SurveyResponses))
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}
