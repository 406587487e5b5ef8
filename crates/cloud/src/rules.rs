//! Who may do what, as plain data and functions of roles and relations — no HTTP or WebSocket
//! types — so REST, `/ws` and the CLI apply one rule and the tests iterate the same table.

use pitbox_model::{HandoffStatus, UserRole};

/// How the one answering a handoff relates to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffParty {
    /// The driver who asked to hand the car over.
    Requester,
    /// The driver asked to take the car.
    Target,
    /// Anyone else of the team.
    Other,
}

impl HandoffParty {
    /// Every relation, for tables.
    pub const ALL: [HandoffParty; 3] = [HandoffParty::Requester, HandoffParty::Target, HandoffParty::Other];

    /// The relation of `user_id` to a handoff from `requester_id` to `target_id`.
    pub fn of(user_id: &str, requester_id: &str, target_id: &str) -> HandoffParty {
        if user_id == target_id {
            HandoffParty::Target
        } else if user_id == requester_id {
            HandoffParty::Requester
        } else {
            HandoffParty::Other
        }
    }
}

/// Whether a user of `role`, related to the handoff as `party`, may move it to `next`
/// (docs/protocol.md): accepting or rejecting is for the target driver, an engineer or an admin;
/// completing is for either driver of the handoff, an engineer or an admin; nobody moves a
/// handoff back to pending, and viewers answer nothing. Whether the move is legal from the
/// current state is [`HandoffStatus::can_become`]'s question (a `conflict`, not a refusal).
pub fn may_answer_handoff(role: UserRole, party: HandoffParty, next: HandoffStatus) -> bool {
    match (role, next) {
        (_, HandoffStatus::Pending) | (UserRole::Viewer, _) => false,
        (UserRole::Admin | UserRole::Engineer, _) => true,
        (UserRole::Driver, HandoffStatus::Accepted | HandoffStatus::Rejected) => party == HandoffParty::Target,
        (UserRole::Driver, HandoffStatus::Completed) => party != HandoffParty::Other,
    }
}

/// The refusal text of [`may_answer_handoff`].
pub fn handoff_refusal(role: UserRole, party: HandoffParty, next: HandoffStatus) -> String {
    match (role, party, next) {
        (UserRole::Viewer, _, _) => "a viewer does not answer handoffs".into(),
        (_, _, HandoffStatus::Pending) => "a handoff cannot be answered with `pending`".into(),
        (_, HandoffParty::Requester, _) => {
            format!(
                "the requesting driver cannot set their own handoff to `{next}`: the target driver or an engineer does"
            )
        }
        _ => "a driver answers only handoffs asked of them".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HandoffParty::{Other, Requester, Target};
    use HandoffStatus::{Accepted, Completed, Pending, Rejected};
    use UserRole::{Admin, Driver, Engineer, Viewer};

    /// The rule written out: (role, party, next) → allowed. Every combination is listed.
    const TABLE: &[(UserRole, HandoffParty, HandoffStatus, bool)] = &[
        (Admin, Requester, Pending, false),
        (Admin, Requester, Accepted, true),
        (Admin, Requester, Rejected, true),
        (Admin, Requester, Completed, true),
        (Admin, Target, Pending, false),
        (Admin, Target, Accepted, true),
        (Admin, Target, Rejected, true),
        (Admin, Target, Completed, true),
        (Admin, Other, Pending, false),
        (Admin, Other, Accepted, true),
        (Admin, Other, Rejected, true),
        (Admin, Other, Completed, true),
        (Engineer, Requester, Pending, false),
        (Engineer, Requester, Accepted, true),
        (Engineer, Requester, Rejected, true),
        (Engineer, Requester, Completed, true),
        (Engineer, Target, Pending, false),
        (Engineer, Target, Accepted, true),
        (Engineer, Target, Rejected, true),
        (Engineer, Target, Completed, true),
        (Engineer, Other, Pending, false),
        (Engineer, Other, Accepted, true),
        (Engineer, Other, Rejected, true),
        (Engineer, Other, Completed, true),
        (Driver, Requester, Pending, false),
        (Driver, Requester, Accepted, false),
        (Driver, Requester, Rejected, false),
        (Driver, Requester, Completed, true),
        (Driver, Target, Pending, false),
        (Driver, Target, Accepted, true),
        (Driver, Target, Rejected, true),
        (Driver, Target, Completed, true),
        (Driver, Other, Pending, false),
        (Driver, Other, Accepted, false),
        (Driver, Other, Rejected, false),
        (Driver, Other, Completed, false),
        (Viewer, Requester, Pending, false),
        (Viewer, Requester, Accepted, false),
        (Viewer, Requester, Rejected, false),
        (Viewer, Requester, Completed, false),
        (Viewer, Target, Pending, false),
        (Viewer, Target, Accepted, false),
        (Viewer, Target, Rejected, false),
        (Viewer, Target, Completed, false),
        (Viewer, Other, Pending, false),
        (Viewer, Other, Accepted, false),
        (Viewer, Other, Rejected, false),
        (Viewer, Other, Completed, false),
    ];

    #[test]
    fn every_role_party_and_transition_is_in_the_table_and_holds() {
        let mut seen = 0;
        for &role in UserRole::ALL {
            for party in HandoffParty::ALL {
                for &next in HandoffStatus::ALL {
                    let row = TABLE.iter().find(|r| (r.0, r.1, r.2) == (role, party, next));
                    let Some(&(_, _, _, allowed)) = row else { panic!("{role} {party:?} {next} missing") };
                    assert_eq!(may_answer_handoff(role, party, next), allowed, "{role} {party:?} → {next}");
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, TABLE.len());
    }

    #[test]
    fn party_of_a_user() {
        assert_eq!(HandoffParty::of("a", "a", "b"), Requester);
        assert_eq!(HandoffParty::of("b", "a", "b"), Target);
        assert_eq!(HandoffParty::of("c", "a", "b"), Other);
    }
}
