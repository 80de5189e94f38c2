//! `/api/v1/tickets`: support tickets.

use serde::{Deserialize, Serialize};
use tenure_core::model::{self, Priority, SurveyKind, Ticket};
use tenure_store::Kind;
use tenure_store::rows::Record;
use utoipa::ToSchema;

use crate::api::crud::Resource;
use crate::api::extract::Checks;
use crate::error::AppError;

/// A ticket to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketIn {
    /// Left out on create: a new id is generated.
    pub id: Option<String>,
    pub account_id: String,
    /// RFC 3339 timestamp.
    pub opened_at: String,
    pub closed_at: Option<String>,
    /// low, normal, high or urgent.
    pub priority: Option<String>,
    pub first_contact_resolved: Option<bool>,
    /// The ticket's satisfaction rating, 1-5.
    pub csat: Option<i64>,
    /// A one-line summary; with the description it becomes feedback.
    pub subject: Option<String>,
    /// The ticket's text.
    pub description: Option<String>,
}

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    pub id: String,
    pub account_id: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub priority: Option<String>,
    pub first_contact_resolved: Option<bool>,
    pub csat: Option<i64>,
    pub subject: Option<String>,
    pub description: Option<String>,
}

pub struct Tickets;

impl Resource for Tickets {
    const KIND: Kind = Kind::Tickets;
    const ID_PREFIX: &'static str = "tkt";
    type In = TicketIn;
    type Out = TicketOut;

    fn body_id(input: &TicketIn) -> Option<String> {
        input.id.clone()
    }

    fn into_record(t: TicketIn, id: String) -> Result<Record, AppError> {
        let mut ck = Checks::default();
        let id = ck.check("id", model::parse_id(&id));
        let account_id = ck.check("account_id", model::parse_id(&t.account_id));
        let opened_at = ck.check("opened_at", model::parse_timestamp(&t.opened_at));
        let closed_at = ck.opt("closed_at", &t.closed_at, model::parse_timestamp);
        if let (Some(o), Some(c)) = (opened_at, closed_at)
            && c < o
        {
            ck.problem(
                "closed_at",
                format!("closed_at {c} is before opened_at {o}"),
            );
        }
        let priority = ck.opt("priority", &t.priority, Priority::parse);
        let csat = t
            .csat
            .and_then(|s| ck.check("csat", SurveyKind::Csat.check_score(s)));
        let subject = ck
            .opt("subject", &t.subject, ticket_text)
            .filter(|s| !s.trim().is_empty());
        let description = ck
            .opt("description", &t.description, ticket_text)
            .filter(|s| !s.trim().is_empty());
        ck.finish(())?;
        Ok(Record::Ticket(Ticket {
            id: id.unwrap_or_default(),
            account_id: account_id.unwrap_or_default(),
            opened_at: opened_at.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            closed_at,
            priority,
            first_contact_resolved: t.first_contact_resolved,
            csat,
            subject,
            description,
        }))
    }

    fn to_out(r: Record) -> Option<TicketOut> {
        let Record::Ticket(t) = r else { return None };
        Some(TicketOut {
            id: t.id,
            account_id: t.account_id,
            opened_at: t.opened_at.to_string(),
            closed_at: t.closed_at.map(|c| c.to_string()),
            priority: t.priority.map(|p| p.as_str().to_string()),
            first_contact_resolved: t.first_contact_resolved,
            csat: t.csat,
            subject: t.subject,
            description: t.description,
        })
    }
}

/// A subject or description: any text without U+0000 (PostgreSQL cannot
/// store it), empty meaning none.
fn ticket_text(s: &str) -> Result<String, model::ValueError> {
    if s.contains('\0') {
        return Err(model::ValueError(
            "must not contain the character U+0000".into(),
        ));
    }
    Ok(s.to_string())
}

crud! {
    resource: Tickets,
    input: TicketIn,
    output: TicketOut,
    page: TicketPage,
    tag: "tickets",
    collection: "/tickets",
    item: "/tickets/{id}",
    handlers: (list_tickets, create_ticket, get_ticket, replace_ticket, delete_ticket)
}
