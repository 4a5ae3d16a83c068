#!/usr/bin/env python3
"""Validates the policy templates IT imports: the ADMX/ADML pair (well-formed XML in the Group Policy
namespace; every string, presentation and element the ADMX refers to exists in the ADML; every policy
writes under SOFTWARE\\Policies\\AgentCompanion) and the macOS configuration profile (a property list
with the profile and payload keys MDMs require). That each policy names a real setting is checked by
the Rust tests (config::tests), which know the schema."""
import plistlib
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "docs" / "policies"
NS = {"p": "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"}
problems = []

admx_text = (root / "windows" / "AgentCompanion.admx").read_text(encoding="utf-8")
adml_text = (root / "windows" / "en-US" / "AgentCompanion.adml").read_text(encoding="utf-8")
admx = ET.fromstring(admx_text)
adml = ET.fromstring(adml_text)
for doc, tag in ((admx, "policyDefinitions"), (adml, "policyDefinitionResources")):
    if doc.tag != f"{{{NS['p']}}}{tag}":
        problems.append(f"root element is {doc.tag}, not {tag} in the Group Policy namespace")

strings = {s.get("id") for s in adml.iterfind(".//p:stringTable/p:string", NS)}
presentations = {p.get("id"): p for p in adml.iterfind(".//p:presentationTable/p:presentation", NS)}
for ref in set(re.findall(r"\$\(string\.([A-Za-z0-9_]+)\)", admx_text)):
    if ref not in strings:
        problems.append(f"the ADMX refers to string {ref}, which the ADML does not define")
categories = {c.get("name") for c in admx.iterfind(".//p:categories/p:category", NS)}
policies = list(admx.iterfind(".//p:policies/p:policy", NS))
if not policies:
    problems.append("the ADMX defines no policy")
names = set()
for policy in policies:
    name = policy.get("name")
    if name in names:
        problems.append(f"policy {name} is defined twice")
    names.add(name)
    key = policy.get("key", "")
    if not key.startswith("SOFTWARE\\Policies\\AgentCompanion\\"):
        problems.append(f"policy {name} writes {key}, outside SOFTWARE\\Policies\\AgentCompanion")
    if policy.get("class") not in ("Machine", "User", "Both"):
        problems.append(f"policy {name} has no class")
    parent = policy.find("p:parentCategory", NS)
    if parent is None or parent.get("ref") not in categories:
        problems.append(f"policy {name} is in no defined category")
    elements = policy.find("p:elements", NS)
    presentation = policy.get("presentation")
    if elements is not None and len(elements):
        pid = re.fullmatch(r"\$\(presentation\.([A-Za-z0-9_]+)\)", presentation or "")
        if not pid or pid.group(1) not in presentations:
            problems.append(f"policy {name} has elements but no presentation in the ADML")
            continue
        refs = {e.get("refId") for e in presentations[pid.group(1)]}
        for element in elements:
            if not element.get("valueName"):
                problems.append(f"policy {name}: element {element.get('id')} names no registry value")
            if element.get("id") not in refs:
                problems.append(f"policy {name}: element {element.get('id')} is not presented in the ADML")
    elif not policy.get("valueName"):
        problems.append(f"policy {name} sets nothing (no valueName, no elements)")

profile_path = root / "macos" / "com.agentcompanion.desktop.mobileconfig"
with open(profile_path, "rb") as f:
    profile = plistlib.load(f)
required = ["PayloadType", "PayloadIdentifier", "PayloadUUID", "PayloadVersion", "PayloadDisplayName"]
for k in required + ["PayloadContent"]:
    if k not in profile:
        problems.append(f"the profile lacks {k}")
if profile.get("PayloadType") != "Configuration":
    problems.append("the profile's PayloadType is not Configuration")
for payload in profile.get("PayloadContent", []):
    for k in required:
        if k not in payload:
            problems.append(f"a payload lacks {k}")
    if payload.get("PayloadType") != "com.agentcompanion.desktop":
        problems.append(f"a payload is for {payload.get('PayloadType')}, not com.agentcompanion.desktop")
uuids = [profile.get("PayloadUUID")] + [p.get("PayloadUUID") for p in profile.get("PayloadContent", [])]
if len(set(uuids)) != len(uuids) or not all(re.fullmatch(r"[0-9A-F-]{36}", u or "") for u in uuids):
    problems.append("payload UUIDs must be distinct upper-case UUIDs")

if problems:
    print("policy templates:\n- " + "\n- ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"policy templates: {len(policies)} ADMX policies presented in the ADML; the configuration profile is valid")
