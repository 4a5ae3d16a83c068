//! Group Policy's values in the registry: `HKCU` then `HKLM` `\SOFTWARE\Policies\AgentCompanion`,
//! one subkey per section, one value per key (the machine's policy wins over the user's). Only built
//! on Windows; the conversion it feeds is `policy::from_registry`, tested everywhere.

use super::policy::{PolicySource, RegistryValue, from_registry};
use winreg::RegKey;
use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, RegType};
use winreg::types::FromRegValue;

const KEY: &str = r"SOFTWARE\Policies\AgentCompanion";

#[derive(Debug)]
pub struct RegistryPolicy;

type Sections = Vec<(String, Vec<(String, RegistryValue)>)>;

fn read_hive(hive: winreg::HKEY) -> std::io::Result<Sections> {
    let root = match RegKey::predef(hive).open_subkey(KEY) {
        Ok(k) => k,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut out = vec![];
    for section in root.enum_keys() {
        let section = section?;
        let key = root.open_subkey(&section)?;
        let mut values = vec![];
        for value in key.enum_values() {
            let (name, raw) = value?;
            let v = match raw.vtype {
                RegType::REG_DWORD => RegistryValue::Dword(u32::from_reg_value(&raw)?),
                RegType::REG_QWORD => RegistryValue::Qword(u64::from_reg_value(&raw)?),
                RegType::REG_SZ | RegType::REG_EXPAND_SZ => RegistryValue::String(String::from_reg_value(&raw)?),
                RegType::REG_MULTI_SZ => RegistryValue::MultiString(Vec::<String>::from_reg_value(&raw)?),
                _ => continue,
            };
            values.push((name, v));
        }
        out.push((section, values));
    }
    Ok(out)
}

impl PolicySource for RegistryPolicy {
    fn origin(&self) -> String {
        format!(r"HKLM\{KEY} and HKCU\{KEY}")
    }

    fn read(&self) -> Result<(toml::Table, Vec<String>), String> {
        // The user's first, the machine's after: a value in both is the machine's.
        let mut sections = read_hive(HKEY_CURRENT_USER).map_err(|e| format!(r"HKCU\{KEY}: {e}"))?;
        sections.extend(read_hive(HKEY_LOCAL_MACHINE).map_err(|e| format!(r"HKLM\{KEY}: {e}"))?);
        let (table, problems) = from_registry(&sections);
        Ok((table, problems))
    }
}
