//! `/api/v1/contacts`: people at customer accounts.

use serde::{Deserialize, Serialize};
use tenure_core::model::{self, Contact};
use tenure_store::Kind;
use tenure_store::rows::Record;
use utoipa::ToSchema;

use crate::api::crud::Resource;
use crate::api::extract::{Checks, email};
use crate::error::AppError;

/// A contact to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// Left out on create: a new id is generated.
    pub id: Option<String>,
    pub account_id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub champion: Option<bool>,
    /// The day the contact left the company, `YYYY-MM-DD`.
    pub left_on: Option<String>,
}

/// A contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub champion: Option<bool>,
    pub left_on: Option<String>,
}

pub struct Contacts;

impl Resource for Contacts {
    const KIND: Kind = Kind::Contacts;
    const ID_PREFIX: &'static str = "con";
    type In = ContactIn;
    type Out = ContactOut;

    fn body_id(input: &ContactIn) -> Option<String> {
        input.id.clone()
    }

    fn into_record(c: ContactIn, id: String) -> Result<Record, AppError> {
        let mut ck = Checks::default();
        let id = ck.check("id", model::parse_id(&id));
        let account_id = ck.check("account_id", model::parse_id(&c.account_id));
        let email = ck.check("email", email(&c.email));
        let left_on = ck.opt("left_on", &c.left_on, model::parse_date);
        ck.finish(())?;
        Ok(Record::Contact(Contact {
            id: id.unwrap_or_default(),
            account_id: account_id.unwrap_or_default(),
            email: email.unwrap_or_default(),
            name: c.name,
            role: c.role,
            champion: c.champion,
            left_on,
        }))
    }

    fn to_out(r: Record) -> Option<ContactOut> {
        let Record::Contact(c) = r else { return None };
        Some(ContactOut {
            id: c.id,
            account_id: c.account_id,
            email: c.email,
            name: c.name,
            role: c.role,
            champion: c.champion,
            left_on: c.left_on.map(|d| d.to_string()),
        })
    }
}

crud! {
    resource: Contacts,
    input: ContactIn,
    output: ContactOut,
    page: ContactPage,
    tag: "contacts",
    collection: "/contacts",
    item: "/contacts/{id}",
    handlers: (list_contacts, create_contact, get_contact, replace_contact, delete_contact)
}
