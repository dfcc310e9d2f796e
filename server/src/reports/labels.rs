//! The words field staff and supervisors read in exports and forms (Simplified Chinese, the
//! terms of DOMAIN.md), for the wire enums.

use sync_protocol::UserId;
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, ClosureReason, FoundBy, JudicialStage, ReasonCategory,
};
use sync_protocol::evidence::DocumentType;
use sync_protocol::flags::FlagKind;
use sync_protocol::org::Role;
use sync_protocol::signing::{Confirmation, ParticipantConfirmation};
use sync_protocol::students::{Gender, SpecialGroup, SpecialGroups};

use crate::cases::machine::Missing;

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

/// 文书类型.
pub fn document_type(t: DocumentType) -> &'static str {
    use DocumentType as D;
    match t {
        D::TownshipNotice => "告知乡镇和村委会的书面通知",
        D::DropoutNotice => "辍学通报",
        D::BureauReport => "书面报告",
        D::DropoutReport => "辍学情况报告单",
        D::JointPersuasionRequest => "请求劝返辍学生函",
        D::ReturnNotice => "限期返校通知书",
        D::CrossCountyNotice => "跨县流动书面通知",
        D::PlacementPlan => "安置方案",
        D::CourtRuling => "司法判决裁定",
        D::WrittenStatement => "书面说明",
        D::GovernmentApproval => "区政府同意",
        D::ExpertAssessment => "残疾人教育专家委员会评估认定",
        D::RuralRevitalisationApproval => "乡村振兴局审核认定",
        D::PoliceConfirmation => "公安部门证明",
        D::DeathCertificate => "死亡证明",
        D::CremationCertificate => "火化证明",
        D::DeregistrationRecord => "户籍注销证明",
        D::CorrectedHouseholdRecord => "更正后的户籍信息",
        D::NewRollRecord => "新学籍号和身份证号",
        D::GuardianApplication => "监护人申请",
        D::HospitalCertificate => "指定医院证明",
        D::SuspensionApproval => "乡镇或教育局审批",
        D::GuardianConsent => "监护人同意书",
        D::ChildConsent => "学生本人同意书",
        D::EducationPlan => "个人教育计划",
        D::AcceptanceLetter => "接收函",
        D::LawEnforcementRecord => "执法记录",
        D::JudicialFiling => "启动司法程序材料",
        D::HearingRecord => "庭审记录",
        D::TeachingRecord => "送教记录",
        D::Other => "其他材料",
    }
}

/// What a move (a write-off, a measure) still needs, in words.
pub fn missing(m: &Missing) -> String {
    match m {
        Missing::ResponsiblePerson => "落实专人".into(),
        Missing::SchoolAttempts { done, needed } => {
            format!("学校劝返不少于{needed}次（已{done}次）或失联记录")
        }
        Missing::JointAttempts { done, needed } => {
            format!("联合劝返不少于{needed}次（已{done}次）")
        }
        Missing::Document { doc_type } => format!("《{}》", document_type(*doc_type)),
        Missing::OneOfDocuments { doc_types } => {
            let names: Vec<&str> = doc_types.iter().map(|t| document_type(*t)).collect();
            format!("以下任一材料：{}", names.join("、"))
        }
        Missing::Review { doc_type } => {
            format!("《{}》经教育局审核通过", document_type(*doc_type))
        }
        Missing::FollowUpVisit => "复学后的跟踪回访".into(),
        Missing::Recordings => "每次劝返的录音".into(),
        Missing::Signatures { unconfirmed } => {
            format!("每次劝返记录全部参与人员的签字确认（尚有{unconfirmed}次未签全）")
        }
        Missing::AgeAtLeast { years } => format!("学生年满{years}周岁"),
        Missing::LongOrRepeatedDropout => "辍学一年以上、反复辍学或厌学".into(),
        Missing::ClosureReason => "与案件状态相符的核销原因".into(),
        Missing::OverAge { on: Some(day) } => format!("超龄离校日（{day}）"),
        Missing::OverAge { on: None } => "学生出生日期（用以确定超龄离校日）".into(),
    }
}

/// A special group (R22).
pub fn special_group(g: SpecialGroup) -> &'static str {
    match g {
        SpecialGroup::LeftBehind => "留守儿童",
        SpecialGroup::Orphan => "孤儿",
        SpecialGroup::Disabled => "残疾",
        SpecialGroup::PoorHousehold => "脱贫户",
        SpecialGroup::Migrant => "随迁子女",
    }
}

/// The special groups a student belongs to, joined by 、 (empty if none).
pub fn special_groups(groups: SpecialGroups) -> String {
    groups
        .members()
        .into_iter()
        .map(special_group)
        .collect::<Vec<_>>()
        .join("、")
}

/// How one participant's confirmation of an attempt stands (R21), in the words of the console
/// and the ledger: e.g. "王老师已签字", "派出所民警手写签名（李干事确认）", "张校长签字后记录被修改".
/// `signers` names the staff who signed the case's attempts.
pub fn confirmation(
    p: &ParticipantConfirmation,
    signers: &std::collections::HashMap<UserId, &str>,
) -> String {
    let name = &p.name;
    match p.confirmation {
        Confirmation::Signed { .. } => format!("{name}已签字"),
        Confirmation::Vouched { by, .. } => {
            let by = signers.get(&by).copied().unwrap_or("在场工作人员");
            format!("{name}手写签名（{by}确认）")
        }
        Confirmation::Stale { .. } => format!("{name}签字后记录被修改"),
        Confirmation::Missing => format!("{name}未签字"),
    }
}

/// 存疑提示: what a plausibility flag says.
pub fn flag(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::CaptureTime => "照片拍摄时间与劝返时间不符",
        FlagKind::FarFromVillage => "地点远离学生所在村",
        FlagKind::ReusedPhoto => "照片与其他劝返记录重复",
        FlagKind::ShortRecording => "录音时长明显短于一次走访",
        FlagKind::LateRecord => "劝返记录补录过晚",
        FlagKind::ImpossibleTravel => "同一人短时间内在相距很远的两地记录",
    }
}
