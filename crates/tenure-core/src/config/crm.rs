//! Checks `[crm.salesforce]` and `[crm.hubspot]` (docs/CRM.md): the column
//! mapping (`fields`, CRM column → Tenure field or `attributes.NAME`),
//! owner names to emails, renewal deal types, closed stages and the date
//! order, each problem at its line; and `[crm.webhook]`, the
//! account-change webhook (its endpoint, batch size and fields).

use std::collections::BTreeMap;

use super::Checker;
use super::engage::unknown;
use super::raw::{RawCrm, RawCrmSettings, RawCrmWebhook, S};
use crate::crm::{Crm, CrmConfig, CrmSettings, DateOrder, Target};
use crate::crm_webhook::{DEFAULT_BATCH, Field, MAX_BATCH, WebhookConfig};

/// The checked `[crm]` section; a CRM without its own table keeps the
/// defaults. `endpoints` are the names of `[[outbound.webhooks]]`.
pub(super) fn check_crm(ck: &mut Checker, raw: RawCrm, endpoints: &[&str]) -> CrmConfig {
    let mut out = CrmConfig::default();
    if let Some(s) = raw.salesforce {
        out.salesforce = check_settings(ck, Crm::Salesforce, s.into_inner());
    }
    if let Some(s) = raw.hubspot {
        out.hubspot = check_settings(ck, Crm::Hubspot, s.into_inner());
    }
    if let Some(w) = raw.webhook {
        out.webhook = check_webhook(ck, w, endpoints);
    }
    out
}

fn check_webhook(
    ck: &mut Checker,
    raw: S<RawCrmWebhook>,
    endpoints: &[&str],
) -> Option<WebhookConfig> {
    let span = raw.span();
    let raw = raw.into_inner();
    let before = ck.errors.len();
    let endpoint = match raw.endpoint {
        None => {
            ck.err(
                span,
                "crm.webhook: name its endpoint, one of [[outbound.webhooks]] (endpoint = \"NAME\")",
            );
            None
        }
        Some(e) => {
            let name = e.get_ref().trim().to_string();
            if endpoints.contains(&name.as_str()) {
                Some(name)
            } else if endpoints.is_empty() {
                ck.err(
                    e.span(),
                    format!(
                        "crm.webhook.endpoint: {name:?} is not an endpoint: no [[outbound.webhooks]] is configured"
                    ),
                );
                None
            } else {
                ck.err(
                    e.span(),
                    format!(
                        "crm.webhook.endpoint: {} (name one of [[outbound.webhooks]])",
                        unknown("webhook endpoint", &name, endpoints.iter().copied())
                    ),
                );
                None
            }
        }
    };
    let mut batch_size = DEFAULT_BATCH;
    if let Some(b) = raw.batch_size {
        match usize::try_from(*b.get_ref()) {
            Ok(n) if (1..=MAX_BATCH).contains(&n) => batch_size = n,
            _ => ck.err(
                b.span(),
                format!(
                    "crm.webhook.batch_size must be from 1 to {MAX_BATCH}, got {}",
                    b.get_ref()
                ),
            ),
        }
    }
    let mut fields = Field::ALL.to_vec();
    if let Some(list) = raw.fields {
        let list_span = list.span();
        let field_errors = ck.errors.len();
        let mut chosen = Vec::new();
        for f in list.into_inner() {
            let name = f.get_ref().trim();
            match Field::parse(name) {
                Some(field) if chosen.contains(&field) => ck.err(
                    f.span(),
                    format!("crm.webhook.fields: {name:?} is listed twice"),
                ),
                Some(field) => chosen.push(field),
                None => ck.err(
                    f.span(),
                    format!(
                        "crm.webhook.fields: {}",
                        unknown("field", name, Field::ALL.iter().map(|f| f.as_str()))
                    ),
                ),
            }
        }
        if chosen.is_empty() && ck.errors.len() == field_errors {
            ck.err(
                list_span,
                "crm.webhook.fields is empty: list at least one field, or leave it out to watch them all",
            );
        }
        chosen.sort();
        fields = chosen;
    }
    (ck.errors.len() == before).then(|| WebhookConfig {
        endpoint: endpoint.unwrap_or_default(),
        batch_size,
        fields,
    })
}

fn check_settings(ck: &mut Checker, crm: Crm, raw: RawCrmSettings) -> CrmSettings {
    let mut out = CrmSettings::default_for(crm);
    let section = format!("crm.{}", crm.as_str());
    if let Some(fields) = raw.fields {
        // In the file's order, so that messages come in line order.
        let mut entries: Vec<(S<String>, S<String>)> = fields.into_inner().into_iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        for (column, target) in entries {
            let name = column.get_ref().trim().to_string();
            if name.is_empty() {
                ck.err(
                    column.span(),
                    format!("{section}.fields: a column name is empty"),
                );
                continue;
            }
            if seen.insert(name.to_lowercase(), ()).is_some() {
                ck.err(
                    column.span(),
                    format!("{section}.fields: the column {name:?} is mapped twice"),
                );
                continue;
            }
            match Target::parse(target.get_ref()) {
                Ok(t) => out.fields.push((name, t)),
                Err(m) => ck.err(target.span(), format!("{section}.fields {name:?}: {m}")),
            }
        }
    }
    if let Some(owners) = raw.owners {
        for (name, email) in owners.into_inner() {
            let n = name.get_ref().trim().to_lowercase();
            if n.is_empty() {
                ck.err(
                    name.span(),
                    format!("{section}.owners: an owner name is empty"),
                );
                continue;
            }
            match crate::target::tasks::check_owner(email.get_ref()) {
                Ok(e) => {
                    out.owners.insert(n, e);
                }
                Err(m) => ck.err(
                    email.span(),
                    format!("{section}.owners {:?}: {m}", name.get_ref()),
                ),
            }
        }
    }
    let mut list = |v: Option<S<Vec<S<String>>>>, key: &str, into: &mut Vec<String>| {
        let Some(v) = v else { return };
        let span = v.span();
        let items: Vec<String> = v
            .into_inner()
            .into_iter()
            .filter_map(|s| {
                let t = s.get_ref().trim().to_string();
                if t.is_empty() {
                    ck.err(s.span(), format!("{section}.{key}: an entry is empty"));
                    None
                } else {
                    Some(t)
                }
            })
            .collect();
        if items.is_empty() {
            ck.err(span, format!("{section}.{key} is empty: list at least one"));
        }
        *into = items;
    };
    list(raw.renewal_types, "renewal_types", &mut out.renewal_types);
    list(raw.closed_stages, "closed_stages", &mut out.closed_stages);
    if let Some(d) = raw.date_order {
        match d.get_ref().trim() {
            "mdy" => out.date_order = DateOrder::Mdy,
            "dmy" => out.date_order = DateOrder::Dmy,
            other => ck.err(
                d.span(),
                format!("{section}.date_order must be \"mdy\" or \"dmy\", got {other:?}"),
            ),
        }
    }
    out
}
