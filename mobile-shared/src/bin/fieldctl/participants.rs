//! Who took part in an attempt, as `fieldctl` is given them: staff with an account
//! (`--staff ACCOUNT_ID=NAME`) and people without one (`--participant name/unit[/department]`).

use anyhow::Context as _;
use mobile_shared::Phone;
use sync_protocol::AttemptId;
use sync_protocol::cases::{Department, Participant};

/// `fieldctl attempt add`: the participants are added to the attempt.
pub(crate) fn add(
    phone: &Phone,
    attempt: AttemptId,
    staff: &[String],
    others: &[String],
) -> anyhow::Result<()> {
    let people = parse_all(staff, others)?;
    anyhow::ensure!(!people.is_empty(), "give --staff or --participant");
    let id = phone.edit_attempt(attempt, Vec::new(), people)?;
    say!("queued {id}");
    Ok(())
}

/// The participants given as `--staff` and `--participant`, staff first.
pub(crate) fn parse_all(staff: &[String], others: &[String]) -> anyhow::Result<Vec<Participant>> {
    staff
        .iter()
        .map(|s| parse_staff(s))
        .chain(others.iter().map(|p| parse_participant(p)))
        .collect()
}

/// A staff member given as `ACCOUNT_ID=NAME`.
fn parse_staff(text: &str) -> anyhow::Result<Participant> {
    let (account, name) = text
        .split_once('=')
        .with_context(|| format!("--staff {text}: give ACCOUNT_ID=NAME"))?;
    let account: uuid::Uuid = account
        .trim()
        .parse()
        .with_context(|| format!("--staff {text}: not an account id"))?;
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "--staff {text}: the name is empty");
    Ok(Participant {
        user_id: Some(account.into()),
        name: name.to_owned(),
        unit: String::new(),
        department: None,
    })
}

/// A participant given as `name/unit` or `name/unit/department`.
fn parse_participant(text: &str) -> anyhow::Result<Participant> {
    let parts: Vec<&str> = text.split('/').map(str::trim).collect();
    let (name, unit, department) = match parts[..] {
        [name, unit] => (name, unit, None),
        [name, unit, department] => (
            name,
            unit,
            Some(
                department
                    .parse::<Department>()
                    .map_err(|e| anyhow::anyhow!("--participant {text}: {e}"))?,
            ),
        ),
        _ => anyhow::bail!("--participant {text}: give name/unit or name/unit/department"),
    };
    anyhow::ensure!(!name.is_empty(), "--participant {text}: the name is empty");
    Ok(Participant {
        user_id: None,
        name: name.to_owned(),
        unit: unit.to_owned(),
        department,
    })
}
