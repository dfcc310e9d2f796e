//! The partner departments of joint persuasion, chosen by the dropout reason (R12).

use sync_protocol::cases::{Department, ReasonCategory};

/// The departments a joint attempt should include for a case of `reason` (R12): guardian
/// neglect → justice; working away → human resources and police; disability → the disabled
/// persons' federation and education; early marriage → civil affairs; religion → religious
/// affairs; lost contact → police (to search first). Other reasons name none.
pub fn for_reason(reason: ReasonCategory) -> &'static [Department] {
    use Department::*;
    match reason {
        ReasonCategory::GuardianNeglect => &[Justice],
        ReasonCategory::WorkingAway => &[HumanResources, Police],
        ReasonCategory::Disability => &[DisabledPersonsFederation, Education],
        ReasonCategory::EarlyMarriage => &[CivilAffairs],
        ReasonCategory::Religion => &[ReligiousAffairs],
        ReasonCategory::LostContact => &[Police],
        ReasonCategory::MovedAcrossCounty
        | ReasonCategory::AversionToSchool
        | ReasonCategory::Poverty
        | ReasonCategory::Illness
        | ReasonCategory::Other => &[],
    }
}

/// The department's short name as field staff write it.
pub fn name(department: Department) -> &'static str {
    match department {
        Department::Justice => "司法",
        Department::HumanResources => "人社",
        Department::Police => "公安",
        Department::DisabledPersonsFederation => "残联",
        Department::Education => "教育",
        Department::CivilAffairs => "民政",
        Department::ReligiousAffairs => "宗教事务",
        Department::RuralRevitalisation => "乡村振兴",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r12_each_reason_of_the_seed_calls_its_departments() {
        assert_eq!(
            for_reason(ReasonCategory::GuardianNeglect),
            [Department::Justice]
        );
        assert_eq!(
            for_reason(ReasonCategory::WorkingAway),
            [Department::HumanResources, Department::Police]
        );
        assert_eq!(
            for_reason(ReasonCategory::Disability),
            [Department::DisabledPersonsFederation, Department::Education]
        );
        assert_eq!(
            for_reason(ReasonCategory::EarlyMarriage),
            [Department::CivilAffairs]
        );
        assert_eq!(
            for_reason(ReasonCategory::Religion),
            [Department::ReligiousAffairs]
        );
        assert_eq!(
            for_reason(ReasonCategory::LostContact),
            [Department::Police]
        );
        assert!(for_reason(ReasonCategory::Poverty).is_empty());
    }
}
