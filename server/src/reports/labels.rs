//! The words field staff and supervisors read in exports and forms (Simplified Chinese, the
//! terms of DOMAIN.md), for the wire enums.

use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, ClosureReason, FoundBy, JudicialStage, ReasonCategory,
};
use sync_protocol::org::Role;
use sync_protocol::students::Gender;

/// 状态.
pub fn status(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Absent => "未到校",
        CaseStatus::AbsenceEnded => "已返校",
        CaseStatus::Excused => "已准假",
        CaseStatus::Suspected => "疑似辍学",
        CaseStatus::SchoolPersuasion => "学校劝返",
        CaseStatus::Reported => "已报告",
        CaseStatus::JointPersuasion => "联合劝返",
        CaseStatus::CompulsoryReturn => "强制劝返",
        CaseStatus::Deferred => "延缓入学（休学）",
        CaseStatus::VocationalSchool => "中职学校就读",
        CaseStatus::Returned => "已复学",
        CaseStatus::FollowUp => "复学跟踪",
        CaseStatus::Closed => "已销号",
    }
}

/// 岗位 (a role as the console names it).
pub fn role(r: Role) -> &'static str {
    match r {
        Role::Teacher => "班主任",
        Role::SchoolLead => "学校负责人",
        Role::VillageMember => "村（居）委会",
        Role::TownshipOfficer => "乡镇（街道）",
        Role::Supervisor => "教育局",
        Role::Admin => "系统管理员",
    }
}

/// 强制劝返的司法程序步骤 (R20 (2)).
pub fn judicial_stage(s: JudicialStage) -> &'static str {
    match s {
        JudicialStage::Filing => "启动司法程序",
        JudicialStage::Hearing => "开庭审理",
        JudicialStage::Ruling => "判决裁定",
        JudicialStage::Enforcement => "强制执行",
    }
}

/// 辍学原因.
pub fn reason(r: ReasonCategory) -> &'static str {
    match r {
        ReasonCategory::GuardianNeglect => "监护人不履行义务",
        ReasonCategory::WorkingAway => "外出打工",
        ReasonCategory::Disability => "残疾",
        ReasonCategory::EarlyMarriage => "早婚早育",
        ReasonCategory::Religion => "信教",
        ReasonCategory::LostContact => "失联",
        ReasonCategory::MovedAcrossCounty => "跨县流动",
        ReasonCategory::AversionToSchool => "厌学",
        ReasonCategory::Poverty => "家庭贫困",
        ReasonCategory::Illness => "疾病",
        ReasonCategory::Other => "其他",
    }
}

/// 发现方式.
pub fn found_by(f: FoundBy) -> &'static str {
    match f {
        FoundBy::DailyAttendance => "日常考勤",
        FoundBy::RollComparison => "学籍户籍比对",
        FoundBy::Report => "报告",
    }
}

/// 核销原因.
pub fn closure(c: ClosureReason) -> &'static str {
    match c {
        ClosureReason::RefusalAfterRuling => "司法裁定后仍拒不复学",
        ClosureReason::PhysicalCondition => "身体不具备学习条件",
        ClosureReason::PoorHouseholdRefusal => "脱贫家庭拒不复学",
        ClosureReason::MissingOrDead => "失踪失联或死亡",
        ClosureReason::AgeMismatch => "年龄不符",
        ClosureReason::DuplicateRegistration => "重复户籍",
        ClosureReason::LostContact => "失联",
        ClosureReason::Death => "死亡",
        ClosureReason::SevereDisability => "重度残疾",
        ClosureReason::StudyingWithoutRoll => "实际就读无学籍",
        ClosureReason::DeferredForIllness => "因病延缓入学或休学",
        ClosureReason::ReturnedAndSettled => "复学稳定",
    }
}

/// 劝返方式.
pub fn attempt_kind(k: AttemptKind) -> &'static str {
    match k {
        AttemptKind::PhoneCall => "电话联系",
        AttemptKind::HomeVisit => "入户家访",
        AttemptKind::CollectiveVisit => "联合村委会家访",
        AttemptKind::JointPersuasion => "联合劝返",
    }
}

/// 劝返结果.
pub fn outcome(o: AttemptOutcome) -> &'static str {
    match o {
        AttemptOutcome::AgreedToReturn => "同意返校",
        AttemptOutcome::Refused => "拒绝",
        AttemptOutcome::Undecided => "未决定",
        AttemptOutcome::NotReached => "未联系上",
    }
}

/// 性别.
pub fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Male => "男",
        Gender::Female => "女",
    }
}
