//! `/api/v1/survey_responses`: answers to NPS, CSAT and CES surveys.

use serde::{Deserialize, Serialize};
use tenure_core::model::{self, SurveyKind, SurveyResponse};
use tenure_store::Kind;
use tenure_store::rows::Record;
use utoipa::ToSchema;

use crate::api::crud::Resource;
use crate::api::extract::Checks;
use crate::error::AppError;

/// A survey response to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyResponseIn {
    /// Left out on create: a new id is generated.
    pub id: Option<String>,
    pub account_id: String,
    pub contact_id: Option<String>,
    /// nps (0-10), csat (1-5) or ces (1-7).
    pub kind: String,
    pub score: i64,
    /// RFC 3339 timestamp.
    pub responded_at: String,
    pub comment: Option<String>,
}

/// A survey response.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyResponseOut {
    pub id: String,
    pub account_id: String,
    pub contact_id: Option<String>,
    pub kind: String,
    pub score: i64,
    pub responded_at: String,
    pub comment: Option<String>,
}

pub struct SurveyResponses;

impl Resource for SurveyResponses {
    const KIND: Kind = Kind::SurveyResponses;
    const ID_PREFIX: &'static str = "srv";
    type In = SurveyResponseIn;
    type Out = SurveyResponseOut;

    fn body_id(input: &SurveyResponseIn) -> Option<String> {
        input.id.clone()
    }

    fn into_record(s: SurveyResponseIn, id: String) -> Result<Record, AppError> {
        let mut ck = Checks::default();
        let id = ck.check("id", model::parse_id(&id));
        let account_id = ck.check("account_id", model::parse_id(&s.account_id));
        let contact_id = ck.opt("contact_id", &s.contact_id, model::parse_id);
        let kind = ck.check("kind", SurveyKind::parse(&s.kind));
        let score = kind.and_then(|k| ck.check("score", k.check_score(s.score)));
        let responded_at = ck.check("responded_at", model::parse_timestamp(&s.responded_at));
        ck.finish(())?;
        Ok(Record::SurveyResponse(SurveyResponse {
            id: id.unwrap_or_default(),
            account_id: account_id.unwrap_or_default(),
            contact_id,
            kind: kind.unwrap_or(SurveyKind::Nps),
            score: score.unwrap_or_default(),
            responded_at: responded_at.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            comment: s.comment,
        }))
    }

    fn to_out(r: Record) -> Option<SurveyResponseOut> {
        let Record::SurveyResponse(s) = r else {
            return None;
        };
        Some(SurveyResponseOut {
            id: s.id,
            account_id: s.account_id,
            contact_id: s.contact_id,
            kind: s.kind.as_str().to_string(),
            score: s.score,
            responded_at: s.responded_at.to_string(),
            comment: s.comment,
        })
    }
}

crud! {
    resource: SurveyResponses,
    input: SurveyResponseIn,
    output: SurveyResponseOut,
    page: SurveyResponsePage,
    tag: "survey_responses",
    collection: "/survey_responses",
    item: "/survey_responses/{id}",
    handlers: (list_survey_responses, create_survey_response, get_survey_response, replace_survey_response, delete_survey_response)
}
