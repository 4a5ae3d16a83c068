//! Salesforce REST: versions, limits, SOSL, SOQL, parameterizedSearch, upsert and collections.

use crate::common::*;
use cloud_sim::data::CallerKind;
use cloud_sim::{soql_escape_literal, sosl_escape_term};
use serde_json::{Value, json};

fn url(sim: &cloud_sim::SimHandle, path: &str) -> String {
    format!("{}/services/data/v62.0{path}", sim.urls().salesforce)
}

async fn search(sim: &cloud_sim::SimHandle, token: &str, sosl: &str) -> reqwest::Response {
    http().get(url(sim, "/search/")).query(&[("q", sosl)]).bearer_auth(token).send().await.unwrap()
}

fn phone_sosl(term: &str) -> String {
    format!(
        "FIND {{{}}} IN PHONE FIELDS RETURNING Contact(Id, Name, Phone, MobilePhone, AccountId, Account.Name), Lead(Id, Name, Phone, Company)",
        sosl_escape_term(term)
    )
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v["searchRecords"].as_array().unwrap().iter().map(|r| r["Id"].as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

async fn upsert_batch(sim: &cloud_sim::SimHandle, token: &str, body: Value) -> reqwest::Response {
    http()
        .patch(url(sim, "/composite/sobjects/Disposition_Log__c/Interaction_ID__c"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn dl(id: &str, code: &str) -> Value {
    json!({"attributes": {"type": "Disposition_Log__c"}, "Interaction_ID__c": id, "Disposition_Code__c": code,
           "Disposition_Reason__c": "notes", "Timestamp__c": "2026-11-21T14:20:35Z"})
}

async fn stored(sim: &cloud_sim::SimHandle, object: &str) -> Vec<Value> {
    let v: Value = http().get(format!("{}/_sim/salesforce/{object}", sim.urls().control)).fetch_json().await;
    v["records"].as_array().unwrap().clone()
}

#[tokio::test]
async fn versions_paths_and_trailing_slashes() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let v: Value = http().get(format!("{}/services/data/", sim.urls().salesforce)).fetch_json().await;
    let list = v.as_array().unwrap();
    assert!(
        list.iter().any(|x| x["version"] == "62.0" && x["url"] == "/services/data/v62.0" && x["label"].is_string())
    );
    for path in [
        "/services/data/v62.0/limits",
        "/services/data/v62.0/limits/",
        "/services/data/v58.0/limits",
        "/services/data/v66.0/",
    ] {
        let r = http().get(format!("{}{path}", sim.urls().salesforce)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = http()
        .get(format!("{}/services/data/version62/limits", sim.urls().salesforce))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn limit_info_on_every_response_and_the_daily_budget() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    settings(&sim, json!({"salesforce_daily_api_max": 3})).await;
    let mut seen = vec![];
    for _ in 0..3 {
        let r = http().get(url(&sim, "/limits")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        seen.push(r.headers()["sforce-limit-info"].to_str().unwrap().to_string());
    }
    assert_eq!(seen, ["api-usage=1/3", "api-usage=2/3", "api-usage=3/3"]);
    let r = http().get(url(&sim, "/limits")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]));
    settings(&sim, json!({"salesforce_daily_api_max": 10})).await;
    let l: Value = http().get(url(&sim, "/limits")).bearer_auth(&token).fetch_json().await;
    assert_eq!(l["DailyApiRequests"], json!({"Max": 10, "Remaining": 6}));
}

#[tokio::test]
async fn sosl_finds_each_kind_of_caller_by_number() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let pop = sim.population().clone();
    for kind in [CallerKind::Single, CallerKind::Shared, CallerKind::Lead, CallerKind::Unknown] {
        for caller in pop.callers_of(kind).take(5) {
            let e164 = caller.e164.as_deref().unwrap();
            let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
            for term in [digits.as_str(), e164] {
                let r = search(&sim, &token, &phone_sosl(term)).await;
                assert_eq!(r.status(), 200);
                let got = ids(&r.json().await.unwrap());
                let mut want = caller.expected.clone();
                want.sort();
                // Suffix matching may over-match across countries: everything expected must be there.
                for w in &want {
                    assert!(got.contains(w), "{kind:?} {term}: {got:?} lacks {w}");
                }
                if kind == CallerKind::Unknown {
                    assert!(got.is_empty(), "{term}: {got:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn search_results_nest_relationships_with_attributes() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let caller = sim.population().callers_of(CallerKind::Single).next().unwrap().clone();
    let v: Value = search(&sim, &token, &phone_sosl(caller.e164.as_deref().unwrap())).await.json().await.unwrap();
    let rec = v["searchRecords"].as_array().unwrap().iter().find(|r| r["Id"] == caller.expected[0].as_str()).unwrap();
    assert_eq!(rec["attributes"]["type"], "Contact");
    assert_eq!(rec["attributes"]["url"], format!("/services/data/v62.0/sobjects/Contact/{}", caller.expected[0]));
    match &rec["Account"] {
        Value::Null => assert!(rec["AccountId"].is_null()),
        acc => {
            assert_eq!(acc["attributes"]["type"], "Account");
            assert!(acc["Name"].is_string());
        }
    }
}

#[tokio::test]
async fn unescaped_reserved_characters_are_malformed_and_escaped_ones_are_safe() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let r = search(&sim, &token, "FIND {+14155551212} IN PHONE FIELDS RETURNING Contact(Id)").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "MALFORMED_SEARCH");
    // An injection attempt that closes the braces is refused, not run.
    let r = search(&sim, &token, "FIND {1} IN ALL FIELDS RETURNING User(Id)} IN PHONE FIELDS").await;
    assert_eq!(r.status(), 400);
    let hostile = "?&|!{}[]()^~*:\\\"'+- 415\n; DROP";
    let r = search(&sim, &token, &phone_sosl(hostile)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn at_most_2000_rows() {
    let sim = sim_with(|c| c.population.contacts = 2100).await;
    let token = sf_token(&sim).await;
    let r = search(&sim, &token, "FIND {example.com} IN EMAIL FIELDS RETURNING Contact(Id)").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["searchRecords"].as_array().unwrap().len(), 2000);
}

#[tokio::test]
async fn new_records_wait_for_the_index_but_soql_sees_them() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    settings(&sim, json!({"salesforce_index_delay_secs": 900})).await;
    let r = http()
        .post(url(&sim, "/sobjects/Contact"))
        .bearer_auth(&token)
        .json(&json!({"FirstName": "Nora", "LastName": "Quill", "MobilePhone": "(415) 867-5309"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let found = |v: Value| ids(&v).contains(&id);
    assert!(!found(search(&sim, &token, &phone_sosl("4158675309")).await.json().await.unwrap()));
    let q = format!("SELECT Id, Name FROM Contact WHERE MobilePhone = '{}'", soql_escape_literal("(415) 867-5309"));
    let v: Value = http().get(url(&sim, "/query/")).query(&[("q", q)]).bearer_auth(&token).fetch_json().await;
    assert_eq!(v["totalSize"], 1);
    assert_eq!(v["records"][0]["Name"], "Nora Quill");
    advance_clock(&sim, 901.0).await;
    assert!(found(search(&sim, &token, &phone_sosl("4158675309")).await.json().await.unwrap()));
}

#[tokio::test]
async fn soql_phone_query_shape_and_literal_escaping() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let contact = sim
        .population()
        .contacts
        .iter()
        .find(|c| c.phones.iter().any(|(f, _)| *f == "Phone") && c.account_id.is_some())
        .unwrap()
        .clone();
    let phone = contact.phones.iter().find(|(f, _)| *f == "Phone").unwrap().1.clone();
    let q = format!(
        "SELECT Id, Name, Account.Name FROM Contact WHERE Phone = '{0}' OR MobilePhone = '{0}' LIMIT 10",
        soql_escape_literal(&phone)
    );
    let v: Value = http().get(url(&sim, "/query")).query(&[("q", q)]).bearer_auth(&token).fetch_json().await;
    assert_eq!(v["done"], true);
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["Id"] == contact.id.as_str() && r["Account"]["Name"].is_string())
    );
    let r = http()
        .get(url(&sim, "/query"))
        .query(&[("q", "SELECT Id FROM Contact WHERE LastName = 'O'Brien'")])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "MALFORMED_QUERY");
    let q = format!("SELECT Id FROM Contact WHERE LastName = '{}'", soql_escape_literal("O'Brien' OR Name != '"));
    let v: Value = http().get(url(&sim, "/query")).query(&[("q", q)]).bearer_auth(&token).fetch_json().await;
    assert_eq!(v["totalSize"], 0, "an escaped quote stays inside the literal");
}

#[tokio::test]
async fn parameterized_search_needs_no_escaping() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let caller = sim.population().callers_of(CallerKind::Shared).next().unwrap().clone();
    let e164 = caller.e164.clone().unwrap();
    let get: Value = http()
        .get(url(&sim, "/parameterizedSearch/"))
        .query(&[
            ("q", e164.as_str()),
            ("in", "PHONE"),
            ("sobject", "Contact"),
            ("Contact.fields", "Id,Name,Account.Name"),
        ])
        .bearer_auth(&token)
        .fetch_json()
        .await;
    let post: Value = http()
        .post(url(&sim, "/parameterizedSearch"))
        .bearer_auth(&token)
        .json(&json!({"q": e164, "in": "PHONE", "sobjects": [{"name": "Contact", "fields": ["Id", "Name", "Account.Name"]}]}))
        .fetch_json().await;
    assert_eq!(get, post);
    let mut want = caller.expected.clone();
    want.sort();
    assert_eq!(ids(&get), want);
}

#[tokio::test]
async fn single_upsert_creates_updates_and_reports() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let put = |version: &str, value: &str, q: &str, body: Value| {
        http()
            .patch(format!(
                "{}/services/data/{version}/sobjects/Disposition_Log__c/Interaction_ID__c/{value}{q}",
                sim.urls().salesforce
            ))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let body = json!({"Disposition_Code__c": "Completed", "Timestamp__c": "2026-11-21T14:20:35.000+0000"});
    let r = put("v62.0", "conv-1", "", body.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["created"], true);
    assert_eq!(created["success"], true);
    let r = put("v62.0", "conv-1", "", body.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"id": created["id"], "success": true, "errors": [], "created": false})
    );
    assert_eq!(put("v45.0", "conv-1", "", body.clone()).await.unwrap().status(), 204);
    assert_eq!(put("v62.0", "conv-2", "?updateOnly=true", body.clone()).await.unwrap().status(), 404);
    let recs = stored(&sim, "Disposition_Log__c").await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["Processed_Flag__c"], false);
    assert!(recs[0]["Name"].as_str().unwrap().starts_with("DL-"));
    let r = http()
        .patch(url(&sim, "/sobjects/Disposition_Log__c/Disposition_Code__c/x"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "not an external id field");
    let r = http()
        .patch(url(&sim, "/sobjects/Nope__c/Interaction_ID__c/x"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = put("v62.0", "conv-3", "", json!({"Disposition_Code__c": "Sideways"})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
}

#[tokio::test]
async fn an_external_id_on_several_records_answers_300() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let task =
        json!({"Subject": "Call", "Status": "Completed", "Priority": "Normal", "Genesys_Conversation_Id__c": "dup-1"});
    for _ in 0..2 {
        let r = http().post(url(&sim, "/sobjects/Task")).bearer_auth(&token).json(&task).send().await.unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = http()
        .patch(url(&sim, "/sobjects/Task/Genesys_Conversation_Id__c/dup-1"))
        .bearer_auth(&token)
        .json(&json!({"Subject": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 300);
    let urls: Vec<String> = r.json().await.unwrap();
    assert_eq!(urls.len(), 2);
    assert!(urls[0].starts_with("/services/data/v62.0/sobjects/Task/00T"));
}

#[tokio::test]
async fn collections_give_per_record_results_in_order() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let body =
        json!({"allOrNone": false, "records": [dl("c-1", "Completed"), dl("c-2", "Not A Code"), dl("c-3", "Failed")]});
    let r = upsert_batch(&sim, &token, body.clone()).await;
    assert_eq!(r.status(), 200);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res[0]["success"], true);
    assert_eq!(res[0]["created"], true);
    assert_eq!(res[1]["success"], false);
    assert_eq!(res[1]["errors"][0]["statusCode"], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    assert_eq!(res[1]["errors"][0]["fields"], json!(["Disposition_Code__c"]));
    assert_eq!(res[2]["success"], true);
    // The same batch again: updates, never a second record.
    let res: Value = upsert_batch(&sim, &token, body).await.json().await.unwrap();
    assert_eq!(res[0]["created"], false);
    assert_eq!(stored(&sim, "Disposition_Log__c").await.len(), 2);
}

#[tokio::test]
async fn all_or_none_rolls_back_the_good_records() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let body = json!({"allOrNone": true, "records": [dl("a-1", "Completed"), dl("a-2", "Bogus")]});
    let res: Value = upsert_batch(&sim, &token, body).await.json().await.unwrap();
    assert_eq!(res[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(res[1]["errors"][0]["statusCode"], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    assert!(stored(&sim, "Disposition_Log__c").await.is_empty());
}

#[tokio::test]
async fn malformed_batches_fail_whole() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let too_many: Vec<Value> = (0..201).map(|i| dl(&format!("m-{i}"), "Completed")).collect();
    let r = upsert_batch(&sim, &token, json!({"records": too_many})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "EXCEEDED_ID_LIMIT");
    let mut unknown = dl("m-1", "Completed");
    unknown["Nope__c"] = json!(1);
    let r = upsert_batch(&sim, &token, json!({"records": [unknown]})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_FIELD");
    let mut bad_time = dl("m-2", "Completed");
    bad_time["Timestamp__c"] = json!("yesterday");
    assert_eq!(upsert_batch(&sim, &token, json!({"records": [bad_time]})).await.status(), 400);
    let r = http()
        .patch(url(&sim, "/composite/sobjects/Disposition_Log__c/Interaction_ID__c"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let no_type = json!({"Interaction_ID__c": "m-3"});
    assert_eq!(upsert_batch(&sim, &token, json!({"records": [no_type]})).await.status(), 400);
    assert!(stored(&sim, "Disposition_Log__c").await.is_empty());
    // Duplicates inside one batch fail per record.
    let res: Value = upsert_batch(&sim, &token, json!({"records": [dl("d-1", "Completed"), dl("d-1", "Failed")]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res[0]["errors"][0]["statusCode"], "DUPLICATE_EXTERNAL_ID");
    assert_eq!(res[1]["errors"][0]["statusCode"], "DUPLICATE_EXTERNAL_ID");
}

#[tokio::test]
async fn lookups_and_task_validation() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let contact = sim.population().contacts[0].id.clone();
    let mut r = dl("l-1", "Completed");
    r["Contact__c"] = json!(&contact[..15]);
    let mut bad = dl("l-2", "Completed");
    bad["Contact__c"] = json!("javascript:alert(1)");
    let mut missing = dl("l-3", "Completed");
    missing["Contact__c"] = json!(cloud_sim::ids::salesforce_id("003", 99_999_999));
    let res: Value = upsert_batch(&sim, &token, json!({"records": [r, bad, missing]})).await.json().await.unwrap();
    assert_eq!(res[0]["success"], true);
    assert_eq!(res[1]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(res[2]["errors"][0]["statusCode"], "INVALID_CROSS_REFERENCE_KEY");
    let recs = stored(&sim, "Disposition_Log__c").await;
    assert_eq!(recs[0]["Contact__c"], contact.as_str(), "a 15-character id is stored as 18");

    let task = |body: Value| http().post(url(&sim, "/sobjects/Task")).bearer_auth(&token).json(&body).send();
    let r = task(json!({"Subject": "Call", "Priority": "Normal"})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    let r = task(json!({"Subject": "Call", "Status": "Completed", "Priority": "Normal", "CallType": "Sideways"}))
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let ok = json!({"Subject": "Call", "Status": "Completed", "Priority": "Normal", "CallType": "Inbound", "TaskSubtype": "Call",
                    "CallDurationInSeconds": 95, "WhoId": contact, "Genesys_Conversation_Id__c": "t-1"});
    let r = http()
        .patch(url(&sim, "/sobjects/Task/Genesys_Conversation_Id__c/t-1"))
        .bearer_auth(&token)
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http()
        .patch(url(&sim, "/sobjects/Task/Genesys_Conversation_Id__c/t-1"))
        .bearer_auth(&token)
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "TaskSubtype is create-only");
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
}

#[tokio::test]
async fn switchable_validation_rules_fail_records_with_the_admins_message() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    settings(
        &sim,
        json!({"validation_rules": [{"object": "Disposition_Log__c", "field": "Disposition_Reason__c", "when": "required", "message": "Notes are required for every disposition."}]}),
    )
    .await;
    let mut no_notes = dl("v-1", "Completed");
    no_notes["Disposition_Reason__c"] = json!("");
    let res: Value =
        upsert_batch(&sim, &token, json!({"records": [no_notes, dl("v-2", "Completed")]})).await.json().await.unwrap();
    assert_eq!(
        res[0]["errors"][0],
        json!({"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Notes are required for every disposition.", "fields": ["Disposition_Reason__c"]})
    );
    assert_eq!(res[1]["success"], true);
}
