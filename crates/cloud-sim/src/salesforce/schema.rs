//! The sObjects the simulator knows: standard Account, Contact, Lead and Task, and the custom
//! `Disposition_Log__c`, with the field types, access and validation the writes must respect.

/// A field's type and its constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// The record id.
    Id,
    /// Text with a maximum length.
    Text(usize),
    /// Long text area.
    LongText(usize),
    /// Phone (text, 40).
    Phone,
    /// E-mail.
    Email,
    /// Picklist; restricted ones reject values outside the list.
    Picklist { values: &'static [&'static str], restricted: bool },
    /// Date and time.
    DateTime,
    /// Date.
    Date,
    /// Checkbox.
    Checkbox,
    /// Number.
    Number,
    /// Lookup to records of these objects; `relationship` is the name used in paths (`Account.Name`).
    Reference { to: &'static [&'static str], relationship: &'static str },
}

/// One field.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// API name.
    pub name: &'static str,
    /// Type.
    pub ty: FieldType,
    /// Can be set on create.
    pub createable: bool,
    /// Can be changed on update.
    pub updateable: bool,
    /// Must have a value on create.
    pub required: bool,
    /// Usable for upsert.
    pub external_id: bool,
    /// Values must be unique.
    pub unique: bool,
}

const fn f(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, ty, createable: true, updateable: true, required: false, external_id: false, unique: false }
}
const fn ro(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, ty, createable: false, updateable: false, required: false, external_id: false, unique: false }
}
const fn req(name: &'static str, ty: FieldType) -> FieldDef {
    FieldDef { name, ty, createable: true, updateable: true, required: true, external_id: false, unique: false }
}

/// One sObject type.
#[derive(Debug)]
pub struct ObjectDef {
    /// API name.
    pub name: &'static str,
    /// The 3-character key prefix of its ids.
    pub prefix: &'static str,
    /// Fields.
    pub fields: &'static [FieldDef],
    /// Fields searched by `IN PHONE FIELDS`.
    pub phone_fields: &'static [&'static str],
    /// Fields searched by `IN NAME FIELDS`.
    pub name_fields: &'static [&'static str],
    /// Fields searched by `IN EMAIL FIELDS`.
    pub email_fields: &'static [&'static str],
    /// Other text fields searched by `IN ALL FIELDS`.
    pub text_fields: &'static [&'static str],
}

impl ObjectDef {
    /// A field by name, case-insensitively as Salesforce matches API names.
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The reference field whose relationship name is `rel`.
    pub fn relationship(&self, rel: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(
            |f| matches!(f.ty, FieldType::Reference { relationship, .. } if relationship.eq_ignore_ascii_case(rel)),
        )
    }
}

const SYS: [FieldDef; 3] =
    [ro("Id", FieldType::Id), ro("CreatedDate", FieldType::DateTime), ro("LastModifiedDate", FieldType::DateTime)];

/// Values of `Disposition_Code__c` in the seed design.
pub const DISPOSITION_CODES: &[&str] = &["Completed", "Pending Transfer", "Abandoned", "Failed"];
/// `Task.CallType`, restricted.
pub const CALL_TYPES: &[&str] = &["Inbound", "Internal", "Outbound"];
const TASK_STATUS: &[&str] = &["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"];
const PRIORITY: &[&str] = &["High", "Normal", "Low"];
const TASK_SUBTYPE: &[&str] = &["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"];
const TASK_TYPE: &[&str] = &["Call", "Email", "Meeting", "Other"];
const LEAD_STATUS: &[&str] =
    &["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"];

static ACCOUNT: ObjectDef = ObjectDef {
    name: "Account",
    prefix: "001",
    fields: &[
        SYS[0],
        SYS[1],
        SYS[2],
        req("Name", FieldType::Text(255)),
        f("Phone", FieldType::Phone),
        f("AccountNumber", FieldType::Text(40)),
        f("Industry", FieldType::Text(40)),
        f("LastActivityDate", FieldType::Date),
    ],
    phone_fields: &["Phone"],
    name_fields: &["Name"],
    email_fields: &[],
    text_fields: &["AccountNumber", "Industry"],
};

static CONTACT: ObjectDef = ObjectDef {
    name: "Contact",
    prefix: "003",
    fields: &[
        SYS[0],
        SYS[1],
        SYS[2],
        f("FirstName", FieldType::Text(40)),
        req("LastName", FieldType::Text(80)),
        ro("Name", FieldType::Text(121)),
        f("Phone", FieldType::Phone),
        f("MobilePhone", FieldType::Phone),
        f("HomePhone", FieldType::Phone),
        f("OtherPhone", FieldType::Phone),
        f("AssistantPhone", FieldType::Phone),
        f("Email", FieldType::Email),
        f("Title", FieldType::Text(128)),
        f("AccountId", FieldType::Reference { to: &["Account"], relationship: "Account" }),
        f("LastActivityDate", FieldType::Date),
    ],
    phone_fields: &["Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone"],
    name_fields: &["Name", "FirstName", "LastName"],
    email_fields: &["Email"],
    text_fields: &["Title"],
};

static LEAD: ObjectDef = ObjectDef {
    name: "Lead",
    prefix: "00Q",
    fields: &[
        SYS[0],
        SYS[1],
        SYS[2],
        f("FirstName", FieldType::Text(40)),
        req("LastName", FieldType::Text(80)),
        ro("Name", FieldType::Text(121)),
        req("Company", FieldType::Text(255)),
        f("Phone", FieldType::Phone),
        f("MobilePhone", FieldType::Phone),
        f("Email", FieldType::Email),
        f("Status", FieldType::Picklist { values: LEAD_STATUS, restricted: true }),
        f("LastActivityDate", FieldType::Date),
    ],
    phone_fields: &["Phone", "MobilePhone"],
    name_fields: &["Name", "FirstName", "LastName", "Company"],
    email_fields: &["Email"],
    text_fields: &[],
};

static TASK: ObjectDef = ObjectDef {
    name: "Task",
    prefix: "00T",
    fields: &[
        SYS[0],
        SYS[1],
        SYS[2],
        f("Subject", FieldType::Text(255)),
        req("Status", FieldType::Picklist { values: TASK_STATUS, restricted: false }),
        req("Priority", FieldType::Picklist { values: PRIORITY, restricted: false }),
        FieldDef {
            name: "TaskSubtype",
            ty: FieldType::Picklist { values: TASK_SUBTYPE, restricted: true },
            createable: true,
            updateable: false,
            required: false,
            external_id: false,
            unique: false,
        },
        f("Type", FieldType::Picklist { values: TASK_TYPE, restricted: false }),
        f("CallType", FieldType::Picklist { values: CALL_TYPES, restricted: true }),
        f("CallDurationInSeconds", FieldType::Number),
        f("CallDisposition", FieldType::Text(255)),
        f("CallObject", FieldType::Text(255)),
        f("WhoId", FieldType::Reference { to: &["Contact", "Lead"], relationship: "Who" }),
        f("WhatId", FieldType::Reference { to: &["Account"], relationship: "What" }),
        f("ActivityDate", FieldType::Date),
        f("Description", FieldType::LongText(32_000)),
        FieldDef {
            name: "Genesys_Conversation_Id__c",
            ty: FieldType::Text(255),
            createable: true,
            updateable: true,
            required: false,
            external_id: true,
            unique: false,
        },
    ],
    phone_fields: &[],
    name_fields: &["Subject"],
    email_fields: &[],
    text_fields: &[],
};

static DISPOSITION_LOG: ObjectDef = ObjectDef {
    name: "Disposition_Log__c",
    prefix: "a0B",
    fields: &[
        SYS[0],
        SYS[1],
        SYS[2],
        ro("Name", FieldType::Text(80)),
        FieldDef {
            name: "Interaction_ID__c",
            ty: FieldType::Text(255),
            createable: true,
            updateable: true,
            required: true,
            external_id: true,
            unique: true,
        },
        // Added for one record per agent segment: the conversation the segment belongs to, for reports.
        f("Conversation_ID__c", FieldType::Text(255)),
        f("Media__c", FieldType::Text(40)),
        f("Disposition_Code__c", FieldType::Picklist { values: DISPOSITION_CODES, restricted: true }),
        f("Disposition_Reason__c", FieldType::LongText(131_072)),
        f("Timestamp__c", FieldType::DateTime),
        f("Processed_Flag__c", FieldType::Checkbox),
        f("Agent_Extension__c", FieldType::Text(40)),
        f("Contact__c", FieldType::Reference { to: &["Contact"], relationship: "Contact__r" }),
    ],
    phone_fields: &[],
    name_fields: &["Name"],
    email_fields: &[],
    text_fields: &["Interaction_ID__c"],
};

/// Every object, in a fixed order.
pub static OBJECTS: [&ObjectDef; 5] = [&ACCOUNT, &CONTACT, &LEAD, &TASK, &DISPOSITION_LOG];

/// An object by API name (case-insensitive).
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS.iter().copied().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// The object an id belongs to, by key prefix.
pub fn object_of_id(id: &str) -> Option<&'static ObjectDef> {
    OBJECTS.iter().copied().find(|o| id.starts_with(o.prefix))
}
