//! CRM exports read as the CRM writes them (docs/CRM.md): Salesforce
//! reports and Data Loader files, HubSpot's companies, contacts and deals
//! exports.
//!
//! Pure: the store reads the file and hands over the header and each row's
//! cells. Here the header is matched to Tenure fields ([`Mapping::detect`]:
//! the team's `[crm.*.fields]` first, then the standard column labels of
//! [`default_columns`]), each row is mapped to a record with problems named
//! by the CRM's own column ([`Mapping::map_row`]), Salesforce's 15- and
//! 18-character ids are brought to one form ([`salesforce_id`]), a row is
//! applied to the stored record to tell created, updated and unchanged
//! apart ([`apply_account`], [`apply_contact`]), and renewal deals are
//! reduced to one renewal date per account ([`pick_renewals`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use crate::model::{self, Account, Contact, Subscription, ValueError};

fn err<T>(msg: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(msg.into()))
}

/// A CRM whose exports Tenure reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Crm {
    Salesforce,
    Hubspot,
}

impl Crm {
    pub const ALL: [Crm; 2] = [Crm::Salesforce, Crm::Hubspot];

    /// The name used on the command line and in `tenure.toml`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Crm::Salesforce => "salesforce",
            Crm::Hubspot => "hubspot",
        }
    }

    pub fn parse(s: &str) -> Result<Crm, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "salesforce" | "sfdc" => Ok(Crm::Salesforce),
            "hubspot" => Ok(Crm::Hubspot),
            _ => err(format!("unknown CRM {s:?}: expected salesforce or hubspot")),
        }
    }

    /// Brings an id of this CRM to the one form Tenure stores: the
    /// 18-character form for Salesforce, the record id as written for
    /// HubSpot. A HubSpot list of ids (`123;456`) gives its first.
    pub fn normalise_id(&self, raw: &str) -> Result<String, ValueError> {
        match self {
            Crm::Salesforce => salesforce_id(raw),
            Crm::Hubspot => {
                let first = raw.split(';').next().unwrap_or("").trim();
                model::parse_id(first)
            }
        }
    }
}

/// What a CRM file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Object {
    /// Salesforce accounts, HubSpot companies.
    Accounts,
    Contacts,
    /// Salesforce opportunities, HubSpot deals.
    Deals,
}

impl Object {
    pub const ALL: [Object; 3] = [Object::Accounts, Object::Contacts, Object::Deals];

    /// Accepts either CRM's word: accounts or companies, opportunities or deals.
    pub fn parse(s: &str) -> Result<Object, ValueError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "accounts" | "account" | "companies" | "company" => Ok(Object::Accounts),
            "contacts" | "contact" => Ok(Object::Contacts),
            "opportunities" | "opportunity" | "deals" | "deal" => Ok(Object::Deals),
            _ => err(format!(
                "unknown CRM object {s:?}: expected accounts (companies), contacts, or opportunities (deals)"
            )),
        }
    }

    /// The name stored in the CRM links and used in messages.
    pub fn as_str(&self) -> &'static str {
        match self {
            Object::Accounts => "accounts",
            Object::Contacts => "contacts",
            Object::Deals => "deals",
        }
    }

    /// The CRM's own word for the object.
    pub fn label(&self, crm: Crm) -> &'static str {
        match (self, crm) {
            (Object::Accounts, Crm::Salesforce) => "accounts",
            (Object::Accounts, Crm::Hubspot) => "companies",
            (Object::Contacts, _) => "contacts",
            (Object::Deals, Crm::Salesforce) => "opportunities",
            (Object::Deals, Crm::Hubspot) => "deals",
        }
    }
}

/// A Tenure field a CRM column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Id,
    Name,
    Industry,
    Employees,
    Region,
    Plan,
    /// The owner: an email address, or a name listed under `owners`.
    CsmEmail,
    CreatedAt,
    AccountId,
    /// The account's name, looked up among stored accounts when the file
    /// has no account id.
    AccountName,
    Email,
    FirstName,
    LastName,
    Role,
    Champion,
    CloseDate,
    Type,
    Stage,
    Closed,
}

const FIELDS: &[(Field, &str, &[Object])] = &[
    (
        Field::Id,
        "id",
        &[Object::Accounts, Object::Contacts, Object::Deals],
    ),
    (Field::Name, "name", &[Object::Accounts, Object::Contacts]),
    (Field::Industry, "industry", &[Object::Accounts]),
    (Field::Employees, "employees", &[Object::Accounts]),
    (Field::Region, "region", &[Object::Accounts]),
    (Field::Plan, "plan", &[Object::Accounts]),
    (Field::CsmEmail, "csm_email", &[Object::Accounts]),
    (Field::CreatedAt, "created_at", &[Object::Accounts]),
    (
        Field::AccountId,
        "account_id",
        &[Object::Contacts, Object::Deals],
    ),
    (
        Field::AccountName,
        "account_name",
        &[Object::Contacts, Object::Deals],
    ),
    (Field::Email, "email", &[Object::Contacts]),
    (Field::FirstName, "first_name", &[Object::Contacts]),
    (Field::LastName, "last_name", &[Object::Contacts]),
    (Field::Role, "role", &[Object::Contacts]),
    (Field::Champion, "champion", &[Object::Contacts]),
    (Field::CloseDate, "close_date", &[Object::Deals]),
    (Field::Type, "type", &[Object::Deals]),
    (Field::Stage, "stage", &[Object::Deals]),
    (Field::Closed, "is_closed", &[Object::Deals]),
];

impl Field {
    /// The name written in `[crm.*.fields]`.
    pub fn as_str(&self) -> &'static str {
        FIELDS
            .iter()
            .find(|(f, ..)| f == self)
            .map_or("?", |(_, n, _)| n)
    }

    /// The objects whose files the field belongs to.
    pub fn objects(&self) -> &'static [Object] {
        FIELDS
            .iter()
            .find(|(f, ..)| f == self)
            .map_or(&[], |(.., o)| o)
    }

    /// Every field name, for messages.
    pub fn names() -> Vec<&'static str> {
        FIELDS.iter().map(|(_, n, _)| *n).collect()
    }
}

/// Where a CRM column goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Field(Field),
    /// `attributes.NAME`: a custom attribute of the account.
    Attribute(String),
    /// `ignore`: the column is read by nothing.
    Ignore,
}

impl Target {
    /// Parses a Tenure field as written in `[crm.*.fields]`.
    pub fn parse(s: &str) -> Result<Target, String> {
        let t = s.trim();
        if t == "ignore" {
            return Ok(Target::Ignore);
        }
        if let Some(name) = t.strip_prefix("attributes.") {
            let name = name.trim();
            if name.is_empty() {
                return Err(
                    "`attributes.` needs the attribute's name, such as attributes.segment".into(),
                );
            }
            return Ok(Target::Attribute(name.to_string()));
        }
        FIELDS
            .iter()
            .find(|(_, n, _)| *n == t)
            .map(|(f, ..)| Target::Field(*f))
            .ok_or_else(|| {
                format!(
                    "unknown Tenure field {t:?}: expected one of {}, attributes.NAME or ignore",
                    Field::names().join(", ")
                )
            })
    }

    /// Whether the target means something in a file of `object`.
    pub fn applies_to(&self, object: Object) -> bool {
        match self {
            Target::Field(f) => f.objects().contains(&object),
            Target::Attribute(_) => object == Object::Accounts,
            Target::Ignore => true,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Target::Field(f) => f.as_str().to_string(),
            Target::Attribute(a) => format!("attributes.{a}"),
            Target::Ignore => "ignore".to_string(),
        }
    }
}

/// How dates written with slashes are read: `3/4/2025` is 4 March in
/// `Mdy` (Salesforce's default US locale), 3 April in `Dmy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    Mdy,
    Dmy,
}

/// One CRM's settings, `[crm.salesforce]` or `[crm.hubspot]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmSettings {
    /// `[crm.*.fields]`: CRM column → target, in the file's order; they
    /// come before the standard columns.
    pub fields: Vec<(String, Target)>,
    /// `[crm.*.owners]`: owner name (lower case) → email, for exports that
    /// write the owner's name.
    pub owners: BTreeMap<String, String>,
    /// Deal types that make a deal a renewal (compared without case).
    pub renewal_types: Vec<String>,
    /// Stages of a closed deal (compared without case).
    pub closed_stages: Vec<String>,
    pub date_order: DateOrder,
}

impl CrmSettings {
    /// The settings without a `tenure.toml` section.
    pub fn default_for(crm: Crm) -> CrmSettings {
        let (types, stages): (&[&str], &[&str]) = match crm {
            Crm::Salesforce => (
                &["Renewal", "Existing Business"],
                &["Closed Won", "Closed Lost"],
            ),
            Crm::Hubspot => (
                &["existingbusiness", "Existing Business"],
                &["closedwon", "closedlost", "Closed Won", "Closed Lost"],
            ),
        };
        CrmSettings {
            fields: Vec::new(),
            owners: BTreeMap::new(),
            renewal_types: types.iter().map(|s| s.to_string()).collect(),
            closed_stages: stages.iter().map(|s| s.to_string()).collect(),
            date_order: DateOrder::Mdy,
        }
    }

    fn is_renewal_type(&self, t: &str) -> bool {
        self.renewal_types
            .iter()
            .any(|r| r.trim().eq_ignore_ascii_case(t.trim()))
    }

    fn is_closed_stage(&self, s: &str) -> bool {
        self.closed_stages
            .iter()
            .any(|c| c.trim().eq_ignore_ascii_case(s.trim()))
    }
}

/// `[crm]`: both CRMs' settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmConfig {
    pub salesforce: CrmSettings,
    pub hubspot: CrmSettings,
    /// `[crm.webhook]`: the account-change webhook, when turned on.
    pub webhook: Option<crate::crm_webhook::WebhookConfig>,
}

impl Default for CrmConfig {
    fn default() -> CrmConfig {
        CrmConfig {
            salesforce: CrmSettings::default_for(Crm::Salesforce),
            hubspot: CrmSettings::default_for(Crm::Hubspot),
            webhook: None,
        }
    }
}

impl CrmConfig {
    pub fn settings(&self, crm: Crm) -> &CrmSettings {
        match crm {
            Crm::Salesforce => &self.salesforce,
            Crm::Hubspot => &self.hubspot,
        }
    }
}

/// The standard columns of each CRM's exports, by the labels its reports
/// and export files write (and Salesforce's API names, which Data Loader
/// writes). Where several columns fill one field, the first listed that
/// the file has and the row fills wins.
pub fn default_columns(crm: Crm, object: Object) -> &'static [(&'static str, Field)] {
    use Field::*;
    match (crm, object) {
        (Crm::Salesforce, Object::Accounts) => &[
            ("Account ID", Id),
            ("Id", Id),
            ("Account Name", Name),
            ("Name", Name),
            ("Industry", Industry),
            ("Employees", Employees),
            ("NumberOfEmployees", Employees),
            ("Billing Country", Region),
            ("BillingCountry", Region),
            ("Owner Email", CsmEmail),
            ("Account Owner Email", CsmEmail),
            ("Owner.Email", CsmEmail),
            ("Account Owner", CsmEmail),
            ("Created Date", CreatedAt),
            ("CreatedDate", CreatedAt),
        ],
        (Crm::Salesforce, Object::Contacts) => &[
            ("Contact ID", Id),
            ("Id", Id),
            ("Account ID", AccountId),
            ("AccountId", AccountId),
            ("Account Name", AccountName),
            ("Email", Email),
            ("First Name", FirstName),
            ("FirstName", FirstName),
            ("Last Name", LastName),
            ("LastName", LastName),
            ("Name", Name),
            ("Title", Role),
        ],
        (Crm::Salesforce, Object::Deals) => &[
            ("Opportunity ID", Id),
            ("Id", Id),
            ("Account ID", AccountId),
            ("AccountId", AccountId),
            ("Account Name", AccountName),
            ("Type", Type),
            ("Stage", Stage),
            ("StageName", Stage),
            ("Close Date", CloseDate),
            ("CloseDate", CloseDate),
            ("Closed", Closed),
            ("IsClosed", Closed),
        ],
        (Crm::Hubspot, Object::Accounts) => &[
            ("Record ID", Id),
            ("Company name", Name),
            ("Name", Name),
            ("Industry", Industry),
            ("Number of Employees", Employees),
            ("Country/Region", Region),
            ("Country", Region),
            ("Company owner", CsmEmail),
            ("Create Date", CreatedAt),
        ],
        (Crm::Hubspot, Object::Contacts) => &[
            ("Record ID", Id),
            ("Email", Email),
            ("First Name", FirstName),
            ("Last Name", LastName),
            ("Job Title", Role),
            ("Associated Company IDs (Primary)", AccountId),
            ("Primary Associated Company ID", AccountId),
            ("Associated Company IDs", AccountId),
            ("Associated Company", AccountName),
        ],
        (Crm::Hubspot, Object::Deals) => &[
            ("Record ID", Id),
            ("Associated Company IDs (Primary)", AccountId),
            ("Primary Associated Company ID", AccountId),
            ("Associated Company IDs", AccountId),
            ("Associated Company", AccountName),
            ("Deal Type", Type),
            ("Deal Stage", Stage),
            ("Close Date", CloseDate),
            ("Is Deal Closed?", Closed),
        ],
    }
}

/// A header compared without case, BOM or runs of white space.
fn header_key(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A problem with a file's header or one of its cells: the CRM column it
/// concerns (None for the whole row or header) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellProblem {
    pub column: Option<String>,
    pub message: String,
}

fn problem(column: Option<&str>, message: impl Into<String>) -> CellProblem {
    CellProblem {
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// A file's header matched to Tenure: for each target, the columns that
/// fill it in order of precedence.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub crm: Crm,
    pub object: Object,
    /// The header as written (BOM and surrounding blanks removed).
    pub headers: Vec<String>,
    /// Each column's target, None when nothing reads it.
    pub columns: Vec<Option<Target>>,
    order: BTreeMap<Target, Vec<usize>>,
    settings: CrmSettings,
}

impl Mapping {
    /// Matches a header. Problems: an empty or repeated column name, or a
    /// required field no column fills.
    pub fn detect(
        crm: Crm,
        object: Object,
        settings: &CrmSettings,
        headers: &[&str],
    ) -> Result<Mapping, Vec<CellProblem>> {
        let mut problems = Vec::new();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut seen = BTreeSet::new();
        for n in &names {
            if n.is_empty() {
                problems.push(problem(None, "a column has an empty header"));
            } else if !seen.insert(header_key(n)) {
                problems.push(problem(Some(n), "this column appears twice"));
            }
        }
        let defaults = default_columns(crm, object);
        // (rank, column): configured columns first, then the standard ones
        // in their listed order.
        let mut ranked: BTreeMap<Target, Vec<(usize, usize)>> = BTreeMap::new();
        let mut columns = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let key = header_key(n);
            let configured = settings
                .fields
                .iter()
                .find(|(c, t)| header_key(c) == key && t.applies_to(object))
                .map(|(_, t)| (0, t.clone()));
            let standard = || {
                defaults
                    .iter()
                    .position(|(c, _)| header_key(c) == key)
                    .map(|p| (1 + p, Target::Field(defaults[p].1)))
            };
            match configured.or_else(standard) {
                Some((_, Target::Ignore)) | None => columns.push(None),
                Some((rank, t)) => {
                    ranked.entry(t.clone()).or_default().push((rank, i));
                    columns.push(Some(t));
                }
            }
        }
        let order: BTreeMap<Target, Vec<usize>> = ranked
            .into_iter()
            .map(|(t, mut v)| {
                v.sort();
                (t, v.into_iter().map(|(_, i)| i).collect())
            })
            .collect();
        let has = |f: Field| order.contains_key(&Target::Field(f));
        let mut require = |fields: &[Field]| {
            if fields.iter().any(|f| has(*f)) {
                return;
            }
            let expected: Vec<String> = defaults
                .iter()
                .filter(|(_, f)| fields.contains(f))
                .map(|(c, _)| format!("{c:?}"))
                .collect();
            let what: Vec<&str> = fields.iter().map(Field::as_str).collect();
            problems.push(problem(
                Some(what[0]),
                format!(
                    "missing required column for {}: expected {} (or map your column to {} under [crm.{}.fields])",
                    what.join(" or "),
                    expected.join(" or "),
                    what[0],
                    crm.as_str()
                ),
            ));
        };
        match object {
            Object::Accounts => {
                require(&[Field::Id]);
                require(&[Field::Name]);
            }
            Object::Contacts => {
                require(&[Field::Id]);
                require(&[Field::AccountId, Field::AccountName]);
                require(&[Field::Email]);
            }
            Object::Deals => {
                require(&[Field::Id]);
                require(&[Field::AccountId, Field::AccountName]);
                require(&[Field::CloseDate]);
                require(&[Field::Type]);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Mapping {
            crm,
            object,
            headers: names,
            columns,
            order,
            settings: settings.clone(),
        })
    }

    /// The columns nothing reads.
    pub fn ignored(&self) -> Vec<&str> {
        self.headers
            .iter()
            .zip(&self.columns)
            .filter(|(_, t)| t.is_none())
            .map(|(h, _)| h.as_str())
            .collect()
    }

    /// The columns read, each with its target, in the file's order.
    pub fn mapped(&self) -> Vec<(&str, &Target)> {
        self.headers
            .iter()
            .zip(&self.columns)
            .filter_map(|(h, t)| t.as_ref().map(|t| (h.as_str(), t)))
            .collect()
    }

    /// The first column that fills `f`, for messages about it.
    pub fn column_for(&self, f: Field) -> Option<&str> {
        let t = Target::Field(f);
        self.has(&t).then(|| self.column_of(&t))
    }

    fn has(&self, t: &Target) -> bool {
        self.order.contains_key(t)
    }

    /// The first non-empty cell among the columns of `t`, with its column.
    fn cell<'c>(&'c self, cells: &[&'c str], t: &Target) -> Option<(&'c str, &'c str)> {
        self.order.get(t)?.iter().find_map(|&i| {
            let v = cells.get(i).map_or("", |c| c.trim());
            (!v.is_empty()).then_some((v, self.headers[i].as_str()))
        })
    }

    /// The column named in a problem with `t` when no cell has a value.
    fn column_of(&self, t: &Target) -> &str {
        self.order
            .get(t)
            .and_then(|v| v.first())
            .map_or("", |&i| self.headers[i].as_str())
    }

    /// Maps one row's cells (in header order) to a record.
    pub fn map_row(&self, cells: &[&str]) -> Result<CrmRecord, Vec<CellProblem>> {
        let mut r = Row {
            m: self,
            cells,
            problems: Vec::new(),
        };
        let record = match self.object {
            Object::Accounts => CrmRecord::Account(r.account()),
            Object::Contacts => CrmRecord::Contact(r.contact()),
            Object::Deals => CrmRecord::Deal(r.deal()),
        };
        if r.problems.is_empty() {
            Ok(record)
        } else {
            Err(r.problems)
        }
    }
}

/// The account a contact or deal belongs to, as the file names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountRef {
    Id(String),
    Name(String),
}

/// An account row: the values of the fields the file has.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    /// Fields the file does not have are empty here and kept as stored.
    pub account: Account,
    /// The fields the file has (a present column with an empty cell
    /// clears the stored value: the CRM has none).
    pub fields: Vec<Field>,
    /// The attributes the file has; an empty cell removes the attribute.
    pub attributes: Vec<String>,
}

/// A contact row, its account not yet resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub contact: Contact,
    pub account: AccountRef,
    pub fields: Vec<Field>,
}

/// An opportunity or deal.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub id: String,
    pub account: AccountRef,
    pub deal_type: Option<String>,
    pub stage: Option<String>,
    pub close_date: Option<Date>,
    pub closed: bool,
    /// An open deal of a renewal type: it sets the account's renewal date.
    pub open_renewal: bool,
}

/// One mapped row.
#[derive(Debug, Clone, PartialEq)]
pub enum CrmRecord {
    Account(AccountRow),
    Contact(ContactRow),
    Deal(Deal),
}

impl CrmRecord {
    pub fn id(&self) -> &str {
        match self {
            CrmRecord::Account(a) => &a.account.id,
            CrmRecord::Contact(c) => &c.contact.id,
            CrmRecord::Deal(d) => &d.id,
        }
    }
}

/// One row being mapped, collecting problems.
struct Row<'a> {
    m: &'a Mapping,
    cells: &'a [&'a str],
    problems: Vec<CellProblem>,
}

impl Row<'_> {
    fn opt<T>(&mut self, f: Field, parse: impl Fn(&str) -> Result<T, ValueError>) -> Option<T> {
        let (v, col) = self.m.cell(self.cells, &Target::Field(f))?;
        if v.contains('\0') {
            self.problems
                .push(problem(Some(col), "must not contain the character U+0000"));
            return None;
        }
        match parse(v) {
            Ok(x) => Some(x),
            Err(e) => {
                self.problems.push(problem(Some(col), e.0));
                None
            }
        }
    }

    fn req<T>(&mut self, f: Field, parse: impl Fn(&str) -> Result<T, ValueError>) -> Option<T> {
        let t = Target::Field(f);
        if self.m.cell(self.cells, &t).is_none() {
            if self.m.has(&t) {
                let col = self.m.column_of(&t).to_string();
                self.problems
                    .push(problem(Some(&col), "a value is required"));
            }
            return None;
        }
        self.opt(f, parse)
    }

    fn text(&mut self, f: Field) -> Option<String> {
        self.opt(f, |s| Ok(s.to_string()))
    }

    fn id(&mut self, f: Field) -> Option<String> {
        let crm = self.m.crm;
        self.req(f, |s| crm.normalise_id(s))
    }

    fn present(&self) -> Vec<Field> {
        FIELDS
            .iter()
            .map(|(f, ..)| *f)
            .filter(|f| self.m.has(&Target::Field(*f)))
            .collect()
    }

    /// The account a contact or deal names: its id when the row has one,
    /// else its name.
    fn account_ref(&mut self) -> AccountRef {
        if self
            .m
            .cell(self.cells, &Target::Field(Field::AccountId))
            .is_some()
        {
            return AccountRef::Id(self.id(Field::AccountId).unwrap_or_default());
        }
        if let Some(name) = self.text(Field::AccountName) {
            return AccountRef::Name(name);
        }
        let col = if self.m.has(&Target::Field(Field::AccountId)) {
            self.m.column_of(&Target::Field(Field::AccountId))
        } else {
            self.m.column_of(&Target::Field(Field::AccountName))
        }
        .to_string();
        self.problems.push(problem(
            Some(&col),
            "a value is required: the record's account",
        ));
        AccountRef::Id(String::new())
    }

    fn account(&mut self) -> AccountRow {
        let order = self.m.settings.date_order;
        let owners = self.m.settings.owners.clone();
        let crm = self.m.crm;
        let mut attributes = BTreeMap::new();
        let mut names = Vec::new();
        for t in self.m.order.keys() {
            if let Target::Attribute(a) = t {
                names.push(a.clone());
                if let Some((v, _)) = self.m.cell(self.cells, t) {
                    attributes.insert(a.clone(), v.to_string());
                }
            }
        }
        let account = Account {
            id: self.id(Field::Id).unwrap_or_default(),
            name: self
                .req(Field::Name, |s| Ok(s.to_string()))
                .unwrap_or_default(),
            industry: self.text(Field::Industry),
            employees: self.opt(Field::Employees, whole_number),
            region: self.text(Field::Region),
            plan: self.text(Field::Plan),
            csm_email: self.opt(Field::CsmEmail, |s| owner_email(s, &owners, crm)),
            created_at: self.opt(Field::CreatedAt, |s| crm_date(s, order)),
            trial_start: None,
            trial_end: None,
            attributes,
        };
        AccountRow {
            account,
            fields: self.present(),
            attributes: names,
        }
    }

    fn contact(&mut self) -> ContactRow {
        let id = self.id(Field::Id).unwrap_or_default();
        let account = self.account_ref();
        let email = self.req(Field::Email, email).unwrap_or_default();
        let full = self.text(Field::Name);
        let first = self.text(Field::FirstName);
        let last = self.text(Field::LastName);
        let name = full.or_else(|| {
            let joined = [first, last].into_iter().flatten().collect::<Vec<_>>();
            (!joined.is_empty()).then(|| joined.join(" "))
        });
        let mut fields = self.present();
        if fields
            .iter()
            .any(|f| matches!(f, Field::FirstName | Field::LastName))
            && !fields.contains(&Field::Name)
        {
            fields.push(Field::Name);
        }
        ContactRow {
            contact: Contact {
                id,
                account_id: String::new(),
                email,
                name,
                role: self.text(Field::Role),
                champion: self.opt(Field::Champion, model::parse_bool),
                left_on: None,
            },
            account,
            fields,
        }
    }

    fn deal(&mut self) -> Deal {
        let order = self.m.settings.date_order;
        let id = self.id(Field::Id).unwrap_or_default();
        let account = self.account_ref();
        let deal_type = self.text(Field::Type);
        let stage = self.text(Field::Stage);
        let closed_flag = self.opt(Field::Closed, model::parse_bool);
        let close_date = self.opt(Field::CloseDate, |s| crm_date(s, order));
        let settings = &self.m.settings;
        let closed = closed_flag.unwrap_or(false)
            || stage
                .as_deref()
                .is_some_and(|s| settings.is_closed_stage(s));
        let open_renewal = !closed
            && deal_type
                .as_deref()
                .is_some_and(|t| settings.is_renewal_type(t));
        if open_renewal && close_date.is_none() && self.problems.is_empty() {
            let col = self
                .m
                .column_of(&Target::Field(Field::CloseDate))
                .to_string();
            self.problems.push(problem(
                Some(&col),
                "an open renewal needs a close date (the renewal date it sets)",
            ));
        }
        Deal {
            id,
            account,
            deal_type,
            stage,
            close_date,
            closed,
            open_renewal,
        }
    }
}

const SF_SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// A Salesforce record id in its 18-character, case-safe form.
///
/// A 15-character id is case-sensitive; the 18-character one appends three
/// characters that encode which of the 15 are capitals, so the same record
/// gets the same 18 characters whichever form the export wrote. Given 18
/// characters, the suffix is trusted and the case of the first 15 restored
/// from it (a spreadsheet that changed their case is undone).
pub fn salesforce_id(s: &str) -> Result<String, ValueError> {
    let t = s.trim();
    if !(t.len() == 15 || t.len() == 18) || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return err(format!(
            "expected a Salesforce id of 15 or 18 letters and digits, got {s:?}"
        ));
    }
    let mut base: Vec<u8> = t.as_bytes()[..15].to_vec();
    if t.len() == 18 {
        for (chunk, c) in t.as_bytes()[15..].iter().enumerate() {
            let c = c.to_ascii_uppercase();
            let Some(bits) = SF_SUFFIX.iter().position(|&a| a == c) else {
                return err(format!("{s:?} is not a valid 18-character Salesforce id"));
            };
            for i in 0..5 {
                let b = &mut base[chunk * 5 + i];
                let upper = (bits >> i) & 1 == 1;
                if b.is_ascii_alphabetic() {
                    *b = if upper {
                        b.to_ascii_uppercase()
                    } else {
                        b.to_ascii_lowercase()
                    };
                } else if upper {
                    return err(format!(
                        "{s:?} is not a valid 18-character Salesforce id: its last 3 characters do not match the first 15"
                    ));
                }
            }
        }
    }
    let mut out = base.clone();
    for chunk in base.chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_uppercase())
            .fold(0usize, |acc, (i, _)| acc | (1 << i));
        out.push(SF_SUFFIX[bits]);
    }
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// A whole number as CRMs write it: `1200`, `1,200`, `1200.0`.
fn whole_number(s: &str) -> Result<i64, ValueError> {
    let cleaned: String = s.chars().filter(|c| *c != ',' && *c != ' ').collect();
    let cleaned = cleaned.strip_suffix(".0").unwrap_or(&cleaned);
    let n = model::parse_int(cleaned)
        .map_err(|_| ValueError(format!("expected a whole number, got {s:?}")))?;
    if n < 0 {
        return err(format!("must not be negative, got {n}"));
    }
    Ok(n)
}

fn email(s: &str) -> Result<String, ValueError> {
    crate::target::tasks::check_owner(s)
        .map_err(|_| ValueError(format!("expected an email address, got {s:?}")))
}

/// An owner as exports write it: an email, `Name <email>` or
/// `Name (email)`, or a name listed in `owners`.
pub fn owner_email(
    s: &str,
    owners: &BTreeMap<String, String>,
    crm: Crm,
) -> Result<String, ValueError> {
    let t = s.trim();
    if let Some(e) = owners.get(&t.to_lowercase()) {
        return Ok(e.clone());
    }
    let inner = t
        .rsplit_once('<')
        .and_then(|(_, r)| r.strip_suffix('>'))
        .or_else(|| t.rsplit_once('(').and_then(|(_, r)| r.strip_suffix(')')));
    let candidate = inner.unwrap_or(t);
    if candidate.contains('@') {
        return email(candidate);
    }
    err(format!(
        "owner {t:?} is not an email address: list it under [crm.{}.owners] as {t:?} = \"their@email\"",
        crm.as_str()
    ))
}

/// A date as CRMs write it: `2025-03-31`, with a time after it
/// (`2025-03-31 14:05`, `2025-03-31T14:05:00.000Z`: an RFC 3339 timestamp
/// gives its UTC date), or with slashes in `order` (`3/31/2025`).
pub fn crm_date(s: &str, order: DateOrder) -> Result<Date, ValueError> {
    let t = s.trim();
    if let Ok(ts) = model::parse_timestamp(t) {
        return Ok(model::utc_date(ts));
    }
    let day_part = t.split([' ', 'T', ',']).next().unwrap_or(t);
    if day_part.len() == 10 && day_part.as_bytes()[4] == b'-' {
        return model::parse_date(day_part);
    }
    let parts: Vec<&str> = day_part.split(['/', '.']).collect();
    if let [a, b, y] = parts[..]
        && let (Ok(a), Ok(b), Ok(y)) = (a.parse::<i8>(), b.parse::<i8>(), y.parse::<i16>())
        && y >= 1000
    {
        let (m, d) = match order {
            DateOrder::Mdy => (a, b),
            DateOrder::Dmy => (b, a),
        };
        return Date::new(y, m, d).map_err(|_| {
            let how = match order {
                DateOrder::Mdy => "month/day/year",
                DateOrder::Dmy => "day/month/year",
            };
            ValueError(format!(
                "{s:?} is not a date read as {how} (set date_order in [crm.*] for the other order)"
            ))
        });
    }
    err(format!(
        "expected a date such as 2025-03-31 or 3/31/2025, got {s:?}"
    ))
}

/// What applying a row does to the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    /// The Tenure fields whose value changes.
    Updated(Vec<String>),
    Unchanged,
}

/// The account to store for a row: the stored one (if any) with the
/// file's fields and attributes replaced, and what that changes.
pub fn apply_account(stored: Option<&Account>, row: &AccountRow) -> (Account, Change) {
    let Some(old) = stored else {
        return (row.account.clone(), Change::Created);
    };
    let mut new = old.clone();
    let a = &row.account;
    for f in &row.fields {
        match f {
            Field::Name => new.name = a.name.clone(),
            Field::Industry => new.industry = a.industry.clone(),
            Field::Employees => new.employees = a.employees,
            Field::Region => new.region = a.region.clone(),
            Field::Plan => new.plan = a.plan.clone(),
            Field::CsmEmail => new.csm_email = a.csm_email.clone(),
            Field::CreatedAt => new.created_at = a.created_at,
            _ => {}
        }
    }
    for name in &row.attributes {
        match a.attributes.get(name) {
            Some(v) => new.attributes.insert(name.clone(), v.clone()),
            None => new.attributes.remove(name),
        };
    }
    let mut changed = Vec::new();
    let pairs: [(&str, bool); 7] = [
        ("name", old.name != new.name),
        ("industry", old.industry != new.industry),
        ("employees", old.employees != new.employees),
        ("region", old.region != new.region),
        ("plan", old.plan != new.plan),
        ("csm_email", old.csm_email != new.csm_email),
        ("created_at", old.created_at != new.created_at),
    ];
    changed.extend(pairs.iter().filter(|(_, c)| *c).map(|(n, _)| n.to_string()));
    for name in &row.attributes {
        if old.attributes.get(name) != new.attributes.get(name) {
            changed.push(format!("attributes.{name}"));
        }
    }
    let change = if changed.is_empty() {
        Change::Unchanged
    } else {
        Change::Updated(changed)
    };
    (new, change)
}

/// The contact to store for a row whose account is `account_id`, and
/// what that changes.
pub fn apply_contact(
    stored: Option<&Contact>,
    row: &ContactRow,
    account_id: &str,
) -> (Contact, Change) {
    let mut c = row.contact.clone();
    c.account_id = account_id.to_string();
    let Some(old) = stored else {
        return (c, Change::Created);
    };
    let mut new = old.clone();
    new.account_id = c.account_id;
    new.email = c.email;
    for f in &row.fields {
        match f {
            Field::Name => new.name = c.name.clone(),
            Field::Role => new.role = c.role.clone(),
            Field::Champion => new.champion = c.champion,
            _ => {}
        }
    }
    let pairs: [(&str, bool); 5] = [
        ("account_id", old.account_id != new.account_id),
        ("email", old.email != new.email),
        ("name", old.name != new.name),
        ("role", old.role != new.role),
        ("champion", old.champion != new.champion),
    ];
    let changed: Vec<String> = pairs
        .iter()
        .filter(|(_, c)| *c)
        .map(|(n, _)| n.to_string())
        .collect();
    let change = if changed.is_empty() {
        Change::Unchanged
    } else {
        Change::Updated(changed)
    };
    (new, change)
}

/// The renewal an account's deals give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub date: Date,
    /// The deal that set it.
    pub deal_id: String,
    /// Other open renewals of the account that lost to it.
    pub superseded: usize,
}

/// One renewal date per account from its open renewal deals: the one with
/// the nearest (earliest) close date wins, ties going to the smallest deal
/// id. `deals` pairs each deal with its resolved account id.
pub fn pick_renewals<'a>(
    deals: impl IntoIterator<Item = (&'a str, &'a Deal)>,
) -> BTreeMap<String, Renewal> {
    let mut out: BTreeMap<String, Renewal> = BTreeMap::new();
    for (account, d) in deals {
        let (true, Some(date)) = (d.open_renewal, d.close_date) else {
            continue;
        };
        match out.get_mut(account) {
            None => {
                out.insert(
                    account.to_string(),
                    Renewal {
                        date,
                        deal_id: d.id.clone(),
                        superseded: 0,
                    },
                );
            }
            Some(r) => {
                r.superseded += 1;
                if (date, d.id.as_str()) < (r.date, r.deal_id.as_str()) {
                    r.date = date;
                    r.deal_id = d.id.clone();
                }
            }
        }
    }
    out
}

/// Whether a renewal on `date` is the next term of `sub`: the
/// subscription is still running then (open, or ending on or after the
/// renewal date). Subscriptions that ended before are history, left alone.
pub fn renews(sub: &Subscription, date: Date) -> bool {
    sub.end_date.is_none_or(|e| e >= date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(crm: Crm, object: Object, header: &str) -> Mapping {
        mapping_with(crm, object, header, &CrmSettings::default_for(crm))
    }

    fn mapping_with(crm: Crm, object: Object, header: &str, s: &CrmSettings) -> Mapping {
        let cols: Vec<&str> = header.split(',').collect();
        Mapping::detect(crm, object, s, &cols).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn row(m: &Mapping, line: &str) -> Result<CrmRecord, Vec<CellProblem>> {
        let cells: Vec<&str> = line.split(',').collect();
        m.map_row(&cells)
    }

    #[test]
    fn salesforce_ids_15_and_18_characters_agree() {
        // A documented example pair: 15 characters and its case-safe 18.
        assert_eq!(
            salesforce_id("001A000000WeJgD").unwrap(),
            salesforce_id("001A000000WeJgDIAV").unwrap()
        );
        assert_eq!(
            salesforce_id("001A000000WeJgD").unwrap(),
            "001A000000WeJgDIAV"
        );
        // Lower-cased by a spreadsheet: the suffix restores the case.
        assert_eq!(
            salesforce_id("001a000000wejgdiav").unwrap(),
            "001A000000WeJgDIAV"
        );
        assert_eq!(
            salesforce_id("0015g00000AbCdE").unwrap(),
            salesforce_id("0015g00000AbCdEAAV").unwrap()
        );
        // Different case in 15 characters: different records.
        assert_ne!(
            salesforce_id("001A000000wejgd").unwrap(),
            salesforce_id("001A000000WeJgD").unwrap()
        );
        assert!(salesforce_id("001A000000WeJg").is_err());
        assert!(salesforce_id("001A000000WeJgD-AV").is_err());
        // A suffix that marks a digit as a capital cannot be right.
        assert!(salesforce_id("001000000000000ZZZ").is_err());
    }

    #[test]
    fn hubspot_ids_take_the_first_of_a_list() {
        assert_eq!(Crm::Hubspot.normalise_id(" 123;456 ").unwrap(), "123");
        assert!(Crm::Hubspot.normalise_id(";").is_err());
    }

    #[test]
    fn salesforce_report_header_is_detected() {
        let m = mapping(
            Crm::Salesforce,
            Object::Accounts,
            "\u{feff}Account ID,Account Name,Industry,Employees,Billing Country,Account Owner,Rating",
        );
        assert_eq!(m.ignored(), vec!["Rating"]);
        let e = row(&m, "001A000000WeJgD,Acme,Software,1200,DE,x,Hot").unwrap_err();
        assert_eq!(e[0].column.as_deref(), Some("Account Owner"));
        let CrmRecord::Account(a) = row(
            &m,
            "001A000000WeJgD,Acme,Software,1200,DE,ann@vendor.example,Hot",
        )
        .unwrap() else {
            panic!("expected an account");
        };
        assert_eq!(a.account.id, "001A000000WeJgDIAV");
        assert_eq!(a.account.employees, Some(1200));
        assert_eq!(a.account.region.as_deref(), Some("DE"));
        assert_eq!(a.account.csm_email.as_deref(), Some("ann@vendor.example"));
    }

    #[test]
    fn data_loader_header_uses_api_names_in_capitals() {
        let m = mapping(
            Crm::Salesforce,
            Object::Accounts,
            "ID,NAME,NUMBEROFEMPLOYEES,BILLINGCOUNTRY,OWNER.EMAIL,CREATEDDATE",
        );
        let CrmRecord::Account(a) = row(
            &m,
            "001A000000WeJgDIAV,Acme,\t1200,FR,Ann@Vendor.example,2024-01-15T10:00:00.000Z",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(a.account.created_at, Some(Date::constant(2024, 1, 15)));
        assert_eq!(a.account.csm_email.as_deref(), Some("ann@vendor.example"));
    }

    #[test]
    fn missing_required_columns_are_named() {
        let s = CrmSettings::default_for(Crm::Hubspot);
        let e = Mapping::detect(Crm::Hubspot, Object::Deals, &s, &["Record ID", "Deal Name"])
            .unwrap_err();
        let cols: Vec<Option<&str>> = e.iter().map(|p| p.column.as_deref()).collect();
        assert_eq!(
            cols,
            vec![Some("account_id"), Some("close_date"), Some("type")]
        );
        assert!(e[0].message.contains("\"Associated Company IDs\""));
        let e = Mapping::detect(
            Crm::Hubspot,
            Object::Accounts,
            &s,
            &["Record ID", "record id"],
        )
        .unwrap_err();
        assert!(e[0].message.contains("appears twice"));
    }

    #[test]
    fn configured_columns_come_first_and_fill_attributes() {
        let mut s = CrmSettings::default_for(Crm::Salesforce);
        s.fields = vec![
            ("Health__c".into(), Target::Attribute("health".into())),
            ("Tier__c".into(), Target::Field(Field::Plan)),
            ("Industry".into(), Target::Ignore),
            // A contact field: not read in an accounts file.
            ("Type".into(), Target::Field(Field::Role)),
        ];
        let m = mapping_with(
            Crm::Salesforce,
            Object::Accounts,
            "Id,Name,Health__c,Tier__c,Industry,Type",
            &s,
        );
        assert_eq!(m.ignored(), vec!["Industry", "Type"]);
        let CrmRecord::Account(a) =
            row(&m, "001A000000WeJgD,Acme,green,gold,Retail,Customer").unwrap()
        else {
            panic!()
        };
        assert_eq!(a.account.attributes["health"], "green");
        assert_eq!(a.account.plan.as_deref(), Some("gold"));
        assert_eq!(a.account.industry, None);
        assert_eq!(a.attributes, vec!["health".to_string()]);
    }

    #[test]
    fn bad_cells_name_the_crm_column() {
        let m = mapping(
            Crm::Hubspot,
            Object::Accounts,
            "Record ID,Company name,Number of Employees,Company owner",
        );
        let e = row(&m, "1,Acme,many,Jane Doe").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].column.as_deref(), Some("Number of Employees"));
        assert!(e[0].message.contains("whole number"));
        assert_eq!(e[1].column.as_deref(), Some("Company owner"));
        assert!(e[1].message.contains("[crm.hubspot.owners]"));
        let e = row(&m, "2,,3,").unwrap_err();
        assert_eq!(e[0].column.as_deref(), Some("Company name"));
        assert_eq!(e[0].message, "a value is required");
        let mut s = CrmSettings::default_for(Crm::Hubspot);
        s.owners
            .insert("jane doe".into(), "jane@vendor.example".into());
        let m = mapping_with(
            Crm::Hubspot,
            Object::Accounts,
            "Record ID,Company name,Company owner",
            &s,
        );
        let CrmRecord::Account(a) = row(&m, "1,Acme,Jane Doe").unwrap() else {
            panic!()
        };
        assert_eq!(a.account.csm_email.as_deref(), Some("jane@vendor.example"));
        let CrmRecord::Account(a) = row(&m, "1,Acme,Bob (bob@vendor.example)").unwrap() else {
            panic!()
        };
        assert_eq!(a.account.csm_email.as_deref(), Some("bob@vendor.example"));
    }

    #[test]
    fn contacts_join_first_and_last_names_and_find_their_account() {
        let m = mapping(
            Crm::Hubspot,
            Object::Contacts,
            "Record ID,First Name,Last Name,Email,Job Title,Associated Company IDs,Associated Company",
        );
        let CrmRecord::Contact(c) =
            row(&m, "51,Ada,Lovelace,ada@acme.example,CTO,7;8,Acme").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.contact.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(c.account, AccountRef::Id("7".into()));
        let CrmRecord::Contact(c) = row(&m, "52,Bob,,bob@acme.example,,,Acme").unwrap() else {
            panic!()
        };
        assert_eq!(c.account, AccountRef::Name("Acme".into()));
        assert!(c.fields.contains(&Field::Name));
    }

    #[test]
    fn deals_of_renewal_types_that_are_open_are_renewals() {
        let m = mapping(
            Crm::Hubspot,
            Object::Deals,
            "Record ID,Deal Type,Deal Stage,Close Date,Associated Company IDs",
        );
        let deal = |line: &str| match row(&m, line).unwrap() {
            CrmRecord::Deal(d) => d,
            _ => panic!(),
        };
        assert!(deal("1,existingbusiness,contractsent,2025-06-30,7").open_renewal);
        assert!(deal("2,Existing Business,appointmentscheduled,2025-06-30 00:00,7").open_renewal);
        assert!(!deal("3,existingbusiness,closedwon,2025-06-30,7").open_renewal);
        assert!(!deal("4,newbusiness,contractsent,2025-06-30,7").open_renewal);
        let e = row(&m, "5,existingbusiness,contractsent,,7").unwrap_err();
        assert_eq!(e[0].column.as_deref(), Some("Close Date"));
    }

    #[test]
    fn the_open_renewal_with_the_nearest_close_date_wins() {
        let d = |id: &str, date: Date, open: bool| Deal {
            id: id.into(),
            account: AccountRef::Id("a".into()),
            deal_type: Some("Renewal".into()),
            stage: None,
            close_date: Some(date),
            closed: !open,
            open_renewal: open,
        };
        let deals = [
            d("late", Date::constant(2026, 3, 1), true),
            d("near", Date::constant(2025, 9, 1), true),
            d("closed", Date::constant(2025, 1, 1), false),
        ];
        let r = pick_renewals(deals.iter().map(|x| ("acc", x)));
        assert_eq!(r["acc"].date, Date::constant(2025, 9, 1));
        assert_eq!(r["acc"].deal_id, "near");
        assert_eq!(r["acc"].superseded, 1);
    }

    #[test]
    fn dates_in_either_order() {
        let d = Date::constant(2025, 3, 31);
        assert_eq!(crm_date("3/31/2025", DateOrder::Mdy).unwrap(), d);
        assert_eq!(crm_date("31/3/2025", DateOrder::Dmy).unwrap(), d);
        assert_eq!(crm_date("31.03.2025", DateOrder::Dmy).unwrap(), d);
        assert_eq!(crm_date("3/31/2025, 10:20 AM", DateOrder::Mdy).unwrap(), d);
        assert!(
            crm_date("31/3/2025", DateOrder::Mdy)
                .unwrap_err()
                .0
                .contains("date_order")
        );
        assert!(crm_date("soon", DateOrder::Mdy).is_err());
    }

    #[test]
    fn applying_a_row_tells_created_updated_and_unchanged() {
        let m = mapping(
            Crm::Salesforce,
            Object::Accounts,
            "Account ID,Account Name,Industry",
        );
        let CrmRecord::Account(r) = row(&m, "001A000000WeJgD,Acme,").unwrap() else {
            panic!()
        };
        let (new, change) = apply_account(None, &r);
        assert_eq!(change, Change::Created);
        let mut stored = new.clone();
        stored.industry = Some("Retail".into());
        stored.plan = Some("growth".into());
        let (after, change) = apply_account(Some(&stored), &r);
        assert_eq!(change, Change::Updated(vec!["industry".into()]));
        // Fields the file does not have are kept.
        assert_eq!(after.plan.as_deref(), Some("growth"));
        assert_eq!(apply_account(Some(&after), &r).1, Change::Unchanged);
    }

    #[test]
    fn a_renewal_applies_to_subscriptions_still_running() {
        let sub = |end: Option<Date>| Subscription {
            id: "s".into(),
            account_id: "a".into(),
            mrr: crate::model::Money::new(100, crate::model::Currency::USD),
            plan: None,
            seats: None,
            start_date: Date::constant(2024, 1, 1),
            end_date: end,
            renewal_date: None,
        };
        let on = Date::constant(2025, 1, 1);
        assert!(renews(&sub(None), on));
        assert!(renews(&sub(Some(on)), on));
        assert!(!renews(&sub(Some(Date::constant(2024, 6, 1))), on));
    }

    #[test]
    fn targets_parse_with_messages() {
        assert_eq!(
            Target::parse("csm_email"),
            Ok(Target::Field(Field::CsmEmail))
        );
        assert_eq!(
            Target::parse("attributes.health"),
            Ok(Target::Attribute("health".into()))
        );
        assert!(Target::parse("attributes.").is_err());
        assert!(
            Target::parse("owner")
                .unwrap_err()
                .contains("unknown Tenure field")
        );
    }
}
