//! The due list: what is due on the open cases in a caller's scope (or under one of its org
//! units), and what is overdue, walked a page of cases at a time by case id. The API's
//! `GET /api/v1/cases/due` and the console's Today page read it.

use sync_protocol::cases::{DueCase, DueEntry, DueList, DueQuery, DueWhat};

use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Cases read per query while walking the due list.
const DUE_PAGE: u64 = 500;

/// Up to `limit` cases of `user`'s scope with something due (or overdue, if `query` asks), after
/// `query.after`, by case id.
pub async fn walk(
    state: &AppState,
    user: &AuthUser,
    query: &DueQuery,
    limit: u64,
) -> Result<DueList, ApiError> {
    let today = crate::calendar::china_date(chrono::Utc::now());
    let overdue_only = query.overdue.unwrap_or(false);
    let mut list = DueList {
        cases: Vec::new(),
        calendar_missing: Vec::new(),
        next_after: None,
    };
    let mut after = query.after.map(|id| id.0);
    'walk: loop {
        let unit = query.org_unit_id.map(|u| u.0);
        let rows = {
            let walk = db::cases::Walk {
                unit,
                rows: db::cases::Rows::NotEnded,
                opened_by: None,
            };
            db::cases::page(&state.db.read, user.scope(), walk, after, DUE_PAGE).await?
        };
        let full = rows.len() as u64 == DUE_PAGE;
        after = rows.last().map(|c| c.id);
        for (case, _) in super::views(state, &state.db.read, rows).await? {
            let mut items = Vec::new();
            for item in case.due {
                if let DueWhat::CalendarMissing { year } = item.what {
                    if !list.calendar_missing.contains(&year) {
                        list.calendar_missing.push(year);
                    }
                    continue;
                }
                let overdue = item.overdue_on(today);
                items.push(DueEntry { item, overdue });
            }
            if items.is_empty() || (overdue_only && !items.iter().any(|i| i.overdue)) {
                continue;
            }
            list.cases.push(DueCase {
                case_id: case.id,
                student_name: case.student_name,
                school_id: case.school_id,
                status: case.status,
                items,
            });
            if list.cases.len() as u64 == limit {
                list.next_after = Some(case.id);
                break 'walk;
            }
        }
        if !full {
            break;
        }
    }
    Ok(list)
}
