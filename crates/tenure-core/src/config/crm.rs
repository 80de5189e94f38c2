//! Checks `[crm.salesforce]` and `[crm.hubspot]` (docs/CRM.md): the column
//! mapping (`fields`, CRM column → Tenure field or `attributes.NAME`),
//! owner names to emails, renewal deal types, closed stages and the date
//! order, each problem at its line.

use std::collections::BTreeMap;

use super::Checker;
use super::raw::{RawCrm, RawCrmSettings, S};
use crate::crm::{Crm, CrmConfig, CrmSettings, DateOrder, Target};

/// The checked `[crm]` section; a CRM without its own table keeps the
/// defaults.
pub(super) fn check_crm(ck: &mut Checker, raw: RawCrm) -> CrmConfig {
    let mut out = CrmConfig::default();
    if let Some(s) = raw.salesforce {
        out.salesforce = check_settings(ck, Crm::Salesforce, s.into_inner());
    }
    if let Some(s) = raw.hubspot {
        out.hubspot = check_settings(ck, Crm::Hubspot, s.into_inner());
    }
    out
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
