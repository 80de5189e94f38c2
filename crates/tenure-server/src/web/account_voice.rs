//! The account page's "Voice of the customer" section (docs/VOICE.md,
//! docs/FEEDBACK.md): the account's latest feedback (survey comments,
//! ticket text, notes, items from the API) with source, sentiment and
//! themes; the product requests it asks for with their status; and the
//! latest surveys sent to its contacts, answered or not. Every text a
//! customer wrote is escaped by the template. The caller's scope was
//! checked when the account was read.

use tenure_store::StoreError;
use tenure_store::api::Scope;
use tenure_store::feedback::FeedbackQuery;

use super::layout::urlencode;
use crate::AppState;
use crate::error::AppError;

/// Items and sends shown, at most.
const ITEMS: u32 = 5;
const SENDS: u32 = 5;

/// A feedback item, as shown.
pub struct VoiceItem {
    pub date: String,
    pub source: &'static str,
    pub sentiment: String,
    pub themes: Vec<String>,
    pub text: String,
}

/// A request the account asks for.
pub struct VoiceRequest {
    pub href: String,
    pub title: String,
    pub status: &'static str,
    pub added_on: String,
}

/// A survey sent to one of the account's contacts.
pub struct VoiceSend {
    pub date: String,
    pub survey: String,
    pub contact: String,
    /// "answered 9", "waiting" or "expired".
    pub state: String,
}

pub struct VoicePanel {
    pub items: Vec<VoiceItem>,
    pub feedback_href: String,
    pub requests: Vec<VoiceRequest>,
    pub sends: Vec<VoiceSend>,
}

pub async fn panel(
    state: &AppState,
    scope: &Scope,
    account_id: &str,
    now: i64,
) -> Result<VoicePanel, AppError> {
    let items = state
        .store
        .feedback_items(&FeedbackQuery {
            scope: scope.clone(),
            account_id: Some(account_id.to_string()),
            limit: Some(ITEMS),
            ..FeedbackQuery::default()
        })
        .await?
        .into_iter()
        .map(|i| VoiceItem {
            date: i.day.to_string(),
            source: i.source.as_str(),
            sentiment: i
                .sentiment
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            themes: i.themes,
            text: i.text,
        })
        .collect();
    // Only the requests this account asks for are read (an account asks
    // for a few; the product may hold thousands).
    let links = state
        .store
        .request_links_of(None, Some(account_id), scope)
        .await?;
    let mut requests = Vec::with_capacity(links.len());
    for l in links {
        let r = match state.store.request(&l.request_id).await {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        requests.push(VoiceRequest {
            href: format!("/requests#request-{}", urlencode(&l.request_id)),
            title: r.title,
            status: r.status.as_str(),
            added_on: l.added_on.to_string(),
        });
    }
    let sends = state
        .store
        .account_survey_sends(account_id, SENDS)
        .await?
        .into_iter()
        .map(|s| VoiceSend {
            date: s.send.sent_on.to_string(),
            state: match (s.send.answered_at, s.score) {
                (Some(_), Some(score)) => format!("answered {score}"),
                (Some(_), None) => "answered".to_string(),
                (None, _) if s.send.expires_at <= now => "expired".to_string(),
                (None, _) => "waiting".to_string(),
            },
            survey: s.send.survey,
            contact: s.send.contact_id,
        })
        .collect();
    Ok(VoicePanel {
        items,
        feedback_href: format!("/feedback?account_id={}", urlencode(account_id)),
        requests,
        sends,
    })
}
