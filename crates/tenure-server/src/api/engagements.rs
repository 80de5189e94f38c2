//! `/api/v1/engagements`: touch points between CSMs and accounts.

use serde::{Deserialize, Serialize};
use tenure_core::model::{self, Engagement};
use tenure_store::Kind;
use tenure_store::rows::Record;
use utoipa::ToSchema;

use crate::api::crud::Resource;
use crate::api::extract::{Checks, email};
use crate::error::AppError;

/// An engagement to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementIn {
    /// Left out on create: a new id is generated.
    pub id: Option<String>,
    pub account_id: String,
    /// What kind of touch point: qbr, check_in, onboarding_call, ...
    pub kind: String,
    /// RFC 3339 timestamp.
    pub occurred_at: String,
    pub csm_email: Option<String>,
    pub notes: Option<String>,
}

/// An engagement.
#[derive(Debug, Serialize, ToSchema)]
pub struct EngagementOut {
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub occurred_at: String,
    pub csm_email: Option<String>,
    pub notes: Option<String>,
}

pub struct Engagements;

impl Resource for Engagements {
    const KIND: Kind = Kind::Engagements;
    const ID_PREFIX: &'static str = "eng";
    type In = EngagementIn;
    type Out = EngagementOut;

    fn body_id(input: &EngagementIn) -> Option<String> {
        input.id.clone()
    }

    fn into_record(e: EngagementIn, id: String) -> Result<Record, AppError> {
        let mut ck = Checks::default();
        let id = ck.check("id", model::parse_id(&id));
        let account_id = ck.check("account_id", model::parse_id(&e.account_id));
        let kind = ck.check("kind", model::parse_id(&e.kind));
        let occurred_at = ck.check("occurred_at", model::parse_timestamp(&e.occurred_at));
        let csm_email = ck.opt("csm_email", &e.csm_email, email);
        ck.finish(())?;
        Ok(Record::Engagement(Engagement {
            id: id.unwrap_or_default(),
            account_id: account_id.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            occurred_at: occurred_at.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            csm_email,
            notes: e.notes,
        }))
    }

    fn to_out(r: Record) -> Option<EngagementOut> {
        let Record::Engagement(e) = r else {
            return None;
        };
        Some(EngagementOut {
            id: e.id,
            account_id: e.account_id,
            kind: e.kind,
            occurred_at: e.occurred_at.to_string(),
            csm_email: e.csm_email,
            notes: e.notes,
        })
    }
}

crud! {
    resource: Engagements,
    input: EngagementIn,
    output: EngagementOut,
    page: EngagementPage,
    tag: "engagements",
    collection: "/engagements",
    item: "/engagements/{id}",
    handlers: (list_engagements, create_engagement, get_engagement, replace_engagement, delete_engagement)
}
