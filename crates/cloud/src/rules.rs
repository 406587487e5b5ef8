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

/// A signed-in person as the account rules see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor<'a> {
    pub role: UserRole,
    /// The deployment's owner.
    pub owner: bool,
    pub team: &'a str,
}

/// An account someone wants to manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account<'a> {
    pub role: UserRole,
    pub owner: bool,
    pub team: Option<&'a str>,
}

/// Whether `actor` may manage `target` (reset its password, change its role, disable, enable,
/// delete or unlock it): the deployment's owner manages everyone; a team's admin manages the
/// team's accounts except an owner; an engineer the team's drivers and viewers; nobody else
/// anyone. Changing one's own password with the current one is not management (anyone may).
pub fn may_manage(actor: Actor<'_>, target: Account<'_>) -> Result<(), String> {
    if actor.owner {
        return Ok(());
    }
    if target.team != Some(actor.team) {
        return Err("that account belongs to another team".into());
    }
    if target.owner {
        return Err("only the deployment's owner manages the owner's account".into());
    }
    match (actor.role, target.role) {
        (UserRole::Admin, _) => Ok(()),
        (UserRole::Engineer, UserRole::Driver | UserRole::Viewer) => Ok(()),
        (UserRole::Engineer, other) => Err(format!("an engineer manages drivers and viewers, not a {other}")),
        (role, _) => Err(format!("a {role} manages no accounts")),
    }
}

/// Whether `actor` may give an account of their team `role` (creating it or changing it): an
/// owner or admin any role, an engineer drivers and viewers.
pub fn may_grant(actor: Actor<'_>, role: UserRole) -> Result<(), String> {
    match (actor.owner, actor.role, role) {
        (true, _, _) | (_, UserRole::Admin, _) => Ok(()),
        (_, UserRole::Engineer, UserRole::Driver | UserRole::Viewer) => Ok(()),
        (_, UserRole::Engineer, other) => Err(format!("an engineer may create drivers and viewers, not a {other}")),
        (_, r, _) => Err(format!("a {r} manages no accounts")),
    }
}

/// Whether `actor` may see or change what belongs to `team` (its data, its secrets): their own
/// team, or every team for the deployment's owner. A team's admin is an admin of that team only.
pub fn may_reach_team(actor: Actor<'_>, team: &str) -> bool {
    actor.owner || actor.team == team
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

    #[test]
    fn account_management_table() {
        let me = |role, owner| Actor { role, owner, team: "a" };
        let acct = |role, owner, team| Account { role, owner, team: Some(team) };
        // (actor role, actor owner, target role, target owner, target team) → allowed
        let table: &[(UserRole, bool, UserRole, bool, &str, bool)] = &[
            (Admin, true, Admin, true, "b", true),
            (Viewer, true, Driver, false, "b", true),
            (Admin, false, Admin, false, "a", true),
            (Admin, false, Driver, false, "b", false),
            (Admin, false, Admin, true, "a", false),
            (Engineer, false, Driver, false, "a", true),
            (Engineer, false, Viewer, false, "a", true),
            (Engineer, false, Engineer, false, "a", false),
            (Engineer, false, Admin, false, "a", false),
            (Engineer, false, Driver, false, "b", false),
            (Driver, false, Driver, false, "a", false),
            (Viewer, false, Viewer, false, "a", false),
        ];
        for &(ar, ao, tr, to, tt, ok) in table {
            assert_eq!(
                may_manage(me(ar, ao), acct(tr, to, tt)).is_ok(),
                ok,
                "{ar} owner={ao} → {tr} owner={to} of {tt}"
            );
        }
        assert!(may_grant(me(Engineer, false), Driver).is_ok());
        assert!(may_grant(me(Engineer, false), Admin).is_err());
        assert!(may_grant(me(Driver, false), Viewer).is_err());
        assert!(may_grant(me(Admin, false), Engineer).is_ok());
        assert!(may_reach_team(me(Admin, false), "a") && !may_reach_team(me(Admin, false), "b"));
        assert!(may_reach_team(me(Viewer, true), "b"));
    }
}
