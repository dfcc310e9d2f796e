//! Evidence on a case: typed documents and supervisors' reviews.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::wire_enum;
use crate::ids::{CaseId, DocumentId, ReviewId, UserId};

wire_enum!(
    /// The type of an evidence document: the papers the rules name (DOMAIN.md R9–R20).
    DocumentType {
        /// 书面告知乡镇和村委会: the school's written notice to the township and the village
        /// committee on day 3 of an unexcused absence (R4).
        TownshipNotice => "township_notice",
        /// 辍学通报: the written dropout notice to the family, signed by the guardian (R4).
        DropoutNotice => "dropout_notice",
        /// 书面报告: the school's written report to the bureau on day 5, with the collective
        /// visit's records and photos (R5); the server generates it.
        BureauReport => "bureau_report",
        /// 义务教育阶段学生辍学情况报告单: the school's dropout report (R9).
        DropoutReport => "dropout_report",
        /// 请求劝返辍学生函: the bureau's request for joint persuasion (R10).
        JointPersuasionRequest => "joint_persuasion_request",
        /// 限期返校通知书: the return-by-deadline notice served on the guardian (R11).
        ReturnNotice => "return_notice",
        /// 跨县流动书面通知: the notice to the household-register place of a family that moved to
        /// another county (R13).
        CrossCountyNotice => "cross_county_notice",
        /// 安置方案: the placement plan of a returned student (R14).
        PlacementPlan => "placement_plan",
        /// 司法判决裁定: a court ruling on the guardian's duty (R15, R20).
        CourtRuling => "court_ruling",
        /// 书面说明: the student's and parents' written statement (R15).
        WrittenStatement => "written_statement",
        /// 区政府同意: the district government's approval (R15).
        GovernmentApproval => "government_approval",
        /// 残疾人教育专家委员会评估认定: the expert committee's assessment (R16, R19).
        ExpertAssessment => "expert_assessment",
        /// 乡村振兴局审核认定: the rural-revitalisation bureau's verification (R17).
        RuralRevitalisationApproval => "rural_revitalisation_approval",
        /// 公安部门证明: a police confirmation (R18, R19).
        PoliceConfirmation => "police_confirmation",
        /// 死亡证明: a death certificate (R18, R19).
        DeathCertificate => "death_certificate",
        /// 火化证明: a cremation certificate (R18, R19).
        CremationCertificate => "cremation_certificate",
        /// 户籍注销证明: a household deregistration record (R18, R19).
        DeregistrationRecord => "deregistration_record",
        /// 更正后的户籍信息: the corrected household record (R19).
        CorrectedHouseholdRecord => "corrected_household_record",
        /// 新学籍号和身份证号: the roll entry where the child studies (R19).
        NewRollRecord => "new_roll_record",
        /// 监护人申请: the guardian's application (R19).
        GuardianApplication => "guardian_application",
        /// 指定医院证明: the designated hospital's certificate (R19).
        HospitalCertificate => "hospital_certificate",
        /// 乡镇或教育局审批: the township's or bureau's approval (R19).
        SuspensionApproval => "suspension_approval",
        /// 监护人同意书: the guardian's consent (R20).
        GuardianConsent => "guardian_consent",
        /// 学生本人同意书: the child's consent (R20).
        ChildConsent => "child_consent",
        /// 个人教育计划: a personal education plan (R20).
        EducationPlan => "education_plan",
        /// 接收函: the receiving school's acceptance letter (R20).
        AcceptanceLetter => "acceptance_letter",
        /// 执法记录: law enforcement records, the enforcement of a compulsory return (R20).
        LawEnforcementRecord => "law_enforcement_record",
        /// 启动司法程序: the judicial procedure against the guardian filed, the first step of a
        /// compulsory return (R20).
        JudicialFiling => "judicial_filing",
        /// 巡回法庭庭审记录: the (circuit) court's hearing of a compulsory return (R20).
        HearingRecord => "hearing_record",
        /// 送教记录: teaching delivered to the child while a compulsory return goes on (R20).
        TeachingRecord => "teaching_record",
        /// Anything else, described in the title.
        Other => "other",
    }
);

/// A typed evidence document (notice served, police confirmation, death certificate…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    /// The document id.
    pub id: DocumentId,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The document type.
    pub doc_type: DocumentType,
    /// Title as written on the paper.
    pub title: String,
    /// Who issued it.
    pub issued_by: String,
    /// When it was issued.
    pub issued_on: Option<NaiveDate>,
    /// Notes.
    pub notes: String,
    /// Who recorded it.
    pub author_id: UserId,
    /// When the server first stored it.
    pub created_at: DateTime<Utc>,
}

wire_enum!(
    /// What a review judges.
    ReviewTarget {
        /// An attempt's evidence.
        Attempt => "attempt",
        /// An evidence document.
        Document => "document",
        /// A request to close the ledger row.
        Closure => "closure",
    }
);

wire_enum!(
    /// A supervisor's verdict.
    Verdict {
        /// Approved.
        Approved => "approved",
        /// Rejected, with a reason.
        Rejected => "rejected",
        /// More evidence is needed.
        MoreEvidence => "more_evidence",
    }
);

/// A supervisor's review of an attempt or a closure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    /// The review id.
    pub id: ReviewId,
    /// The case.
    pub case_id: CaseId,
    /// What is judged.
    pub target: ReviewTarget,
    /// The attempt's or document's id, or the case's own id for a closure.
    pub target_id: uuid::Uuid,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (required unless approved).
    pub reason: String,
    /// The reviewer.
    pub reviewer_id: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}
