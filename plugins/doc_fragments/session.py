# -*- coding: utf-8 -*-
# Copyright: kaminario.k2 contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The session options, written once (their argument spec is session_schema.SESSION_OPTIONS).

    DOCUMENTATION (kaminario.k2.session): k2_replication_session takes them at the top level.
    TOPOLOGY (kaminario.k2.session.topology): k2_replication_topology takes them once per item of
    `sessions` and, but for name, new_name and state, in `defaults`. It is derived from
    DOCUMENTATION by tools/render_session_fragment.py: edit DOCUMENTATION, then run it.
    WAIT (kaminario.k2.session.wait): the wait options of both modules.
    """

    DOCUMENTATION = r"""
options:
  name:
    description:
      - The name of the session on the array the task talks to.
      - On the target array, the session that mirrors a source session is named after
        O(remote_replication_session_name) (by default C(remote_<name>)).
    type: str
    required: true
  new_name:
    description:
      - Rename the session to this name (one PATCH of its C(name); the array renames the peer's
        C(remote_replication_session_name) too).
      - Idempotent. When no session is named O(name) but one is named O(new_name), that one is
        managed and nothing is renamed; when both exist, nothing is done and the session fails.
      - A session created by this task is created under O(new_name).
    type: str
  state:
    description:
      - V(present) creates the session when it does not exist and updates the fields the task sets.
      - V(absent) stops the session along the allowed transitions (for example V(in_sync) to
        V(suspended) to V(idle)), then deletes it. A session that does not exist is left alone.
      - V(absent) removes this side only; a pair has a session on each array. On the source array,
        the stop reaches the target-side session, which then reads V(idle) and can be deleted on its
        own array. Remove a pair in that order (stop the source, wait until the target reads V(idle),
        delete the target, then the source) so that no half is left that cannot be deleted.
      - A target-side session that is V(in_sync) or V(suspended) follows its source and cannot be
        stopped from this side. O(state=absent) fails for it before any write; stop the session on the
        source array first, or fail it over deliberately.
    type: str
    choices: [present, absent]
    default: present

  current_role:
    description:
      - The side of its pair the session is declared to be on. After a failover and a reverse, a
        session created as the source reads C(current_role=target) (and its peer C(source)).
      - When set and the session is on the other side, nothing is changed; the session is reported
        and the task fails, naming both roles, before any write.
      - Left out, any side is accepted (in P(kaminario.k2.k2_replication_topology#module), items are
        taken as V(source) unless they say otherwise).
      - A session declared V(target) that does not exist is not created (its source array creates it).
    type: str
    choices: [source, target]
  replication_peer_k2array:
    description:
      - The peer array the session replicates to, as a name, an id or a ref such as
        C(/replication/peer_k2arrays/1).
      - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
        starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
      - Needed to create the session. Fixed at creation.
    type: str
    aliases: [peer_array]
  local_volume_group:
    description:
      - The local volume group to replicate, as a name, an id or a ref such as C(/volume_groups/5).
      - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
        starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
      - Needed to create the session. Fixed at creation.
    type: str
    aliases: [volume_group]
  rpo:
    description:
      - The recovery point objective, in seconds. V(60), or a multiple of V(300).
      - Needed to create the session. Can be changed later.
    type: int
  retention_policy:
    description:
      - The local retention policy, as a name, an id or a ref such as C(/retention_policies/5).
      - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
        starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
      - When a new session is created without it, the array uses its default policy.
    type: str
  external_retention_policy:
    description:
      - The retention policy of the replicated snapshots on the peer array, as a name, an id or a ref.
      - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
        starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
      - When a new session is created without it, the array uses its default policy.
    type: str
  target_exposure:
    description:
      - How the replicated volumes are exposed on the peer array.
      - One of V(unmapped), V(Read Only) or V(Mapped - Not Exposed). Case, spaces, hyphens and
        underscores do not matter (V(read_only), V(read only) and V(READ-ONLY) are all V(Read Only));
        the value is compared that way and sent in the spelling above. Any other value fails before
        any request.
    type: str
  remote_replication_session_name:
    description:
      - The name of the session the array creates on the peer array. The array's default is
        C(remote_<name>).
      - Fixed at creation.
    type: str
    aliases: [remote_session_name]
  replication_peer_volume_group_name:
    description:
      - The name of the volume group the array creates on the peer array. The array's default is the
        name of the local volume group.
      - Used on create only. The session shows its peer group as a ref, not a name, so this option is
        not compared on an existing session.
    type: str
    aliases: [peer_volume_group_name]
  auto_configure_peer_volumes:
    description:
      - Let the array create the peer volumes.
      - Used on create only. The API does not show it back, so it is not compared on an existing
        session.
    type: bool
  replication_state:
    description:
      - The state the session must end in. Left out, the session's state is not touched.
      - V(in_sync) starts (or resumes) replication. On a V(failed_over) target-side session, it
        reverses the direction of replication, and the session becomes the source.
      - V(suspended) pauses replication, V(idle) stops it.
      - V(failed_over) fails over a target-side session (one whose C(current_role) is C(target)), so
        that its copy becomes writable. It needs nothing from the source array and works while the
        source array is down.
      - A source session suspended because its peer failed over (C(suspend_reason_code=peer_failed_over))
        cannot be resumed; the array refuses while the peer is failed over. V(in_sync) then fails before
        any write (in check mode too) and says to fail back from the DR side.
      - A new session starts V(idle).
    type: str
    choices: [in_sync, suspended, idle, failed_over]
  snapshot_wwn:
    description:
      - Sent with the transition that reaches O(replication_state) (the API's C(snapshot_wwn)).
      - Nothing is sent when the session is already in that state.
    type: str
  offline_initial_sync:
    description:
      - Sent with the transition that reaches O(replication_state) (the API's C(offline_initial_sync)).
      - Nothing is sent when the session is already in that state.
    type: bool
  restored_snapshot:
    description:
      - "The snapshot a failover restores, with O(replication_state=failed_over): a name, an id, a ref
        such as C(/snapshots/428), or V(latest) for the session's C(latest_replicated_snapshot)."
      - Evaluated only when a failover is actually sent. V(latest) costs no request, and a session that
        is already V(failed_over) is left as it is, whatever its snapshots.
    type: str
"""

    TOPOLOGY = r"""
options:
  sessions:
    suboptions:
      name:
        description:
          - The name of the session on the array the task talks to.
          - On the target array, the session that mirrors a source session is named after
            O(sessions[].remote_replication_session_name) (by default C(remote_<name>)).
        type: str
        required: true
      new_name:
        description:
          - Rename the session to this name (one PATCH of its C(name); the array renames the peer's
            C(remote_replication_session_name) too).
          - Idempotent. When no session is named O(sessions[].name) but one is named O(sessions[].new_name), that one is
            managed and nothing is renamed; when both exist, nothing is done and the session fails.
          - A session created by this task is created under O(sessions[].new_name).
        type: str
      state:
        description:
          - V(present) creates the session when it does not exist and updates the fields the task sets.
          - V(absent) stops the session along the allowed transitions (for example V(in_sync) to
            V(suspended) to V(idle)), then deletes it. A session that does not exist is left alone.
          - V(absent) removes this side only; a pair has a session on each array. On the source array,
            the stop reaches the target-side session, which then reads V(idle) and can be deleted on its
            own array. Remove a pair in that order (stop the source, wait until the target reads V(idle),
            delete the target, then the source) so that no half is left that cannot be deleted.
          - A target-side session that is V(in_sync) or V(suspended) follows its source and cannot be
            stopped from this side. O(sessions[].state=absent) fails for it before any write; stop the session on the
            source array first, or fail it over deliberately.
        type: str
        choices: [present, absent]
        default: present

      current_role:
        description:
          - The side of its pair the session is declared to be on. After a failover and a reverse, a
            session created as the source reads C(current_role=target) (and its peer C(source)).
          - When set and the session is on the other side, nothing is changed; the session is reported
            and the task fails, naming both roles, before any write.
          - Left out, any side is accepted (in P(kaminario.k2.k2_replication_topology#module), items are
            taken as V(source) unless they say otherwise).
          - A session declared V(target) that does not exist is not created (its source array creates it).
        type: str
        choices: [source, target]
      replication_peer_k2array:
        description:
          - The peer array the session replicates to, as a name, an id or a ref such as
            C(/replication/peer_k2arrays/1).
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - Needed to create the session. Fixed at creation.
        type: str
        aliases: [peer_array]
      local_volume_group:
        description:
          - The local volume group to replicate, as a name, an id or a ref such as C(/volume_groups/5).
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - Needed to create the session. Fixed at creation.
        type: str
        aliases: [volume_group]
      rpo:
        description:
          - The recovery point objective, in seconds. V(60), or a multiple of V(300).
          - Needed to create the session. Can be changed later.
        type: int
      retention_policy:
        description:
          - The local retention policy, as a name, an id or a ref such as C(/retention_policies/5).
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - When a new session is created without it, the array uses its default policy.
        type: str
      external_retention_policy:
        description:
          - The retention policy of the replicated snapshots on the peer array, as a name, an id or a ref.
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - When a new session is created without it, the array uses its default policy.
        type: str
      target_exposure:
        description:
          - How the replicated volumes are exposed on the peer array.
          - One of V(unmapped), V(Read Only) or V(Mapped - Not Exposed). Case, spaces, hyphens and
            underscores do not matter (V(read_only), V(read only) and V(READ-ONLY) are all V(Read Only));
            the value is compared that way and sent in the spelling above. Any other value fails before
            any request.
        type: str
      remote_replication_session_name:
        description:
          - The name of the session the array creates on the peer array. The array's default is
            C(remote_<name>).
          - Fixed at creation.
        type: str
        aliases: [remote_session_name]
      replication_peer_volume_group_name:
        description:
          - The name of the volume group the array creates on the peer array. The array's default is the
            name of the local volume group.
          - Used on create only. The session shows its peer group as a ref, not a name, so this option is
            not compared on an existing session.
        type: str
        aliases: [peer_volume_group_name]
      auto_configure_peer_volumes:
        description:
          - Let the array create the peer volumes.
          - Used on create only. The API does not show it back, so it is not compared on an existing
            session.
        type: bool
      replication_state:
        description:
          - The state the session must end in. Left out, the session's state is not touched.
          - V(in_sync) starts (or resumes) replication. On a V(failed_over) target-side session, it
            reverses the direction of replication, and the session becomes the source.
          - V(suspended) pauses replication, V(idle) stops it.
          - V(failed_over) fails over a target-side session (one whose C(current_role) is C(target)), so
            that its copy becomes writable. It needs nothing from the source array and works while the
            source array is down.
          - A source session suspended because its peer failed over (C(suspend_reason_code=peer_failed_over))
            cannot be resumed; the array refuses while the peer is failed over. V(in_sync) then fails before
            any write (in check mode too) and says to fail back from the DR side.
          - A new session starts V(idle).
        type: str
        choices: [in_sync, suspended, idle, failed_over]
      snapshot_wwn:
        description:
          - Sent with the transition that reaches O(sessions[].replication_state) (the API's C(snapshot_wwn)).
          - Nothing is sent when the session is already in that state.
        type: str
      offline_initial_sync:
        description:
          - Sent with the transition that reaches O(sessions[].replication_state) (the API's C(offline_initial_sync)).
          - Nothing is sent when the session is already in that state.
        type: bool
      restored_snapshot:
        description:
          - "The snapshot a failover restores, with O(sessions[].replication_state=failed_over): a name, an id, a ref
            such as C(/snapshots/428), or V(latest) for the session's C(latest_replicated_snapshot)."
          - Evaluated only when a failover is actually sent. V(latest) costs no request, and a session that
            is already V(failed_over) is left as it is, whatever its snapshots.
        type: str
  defaults:
    suboptions:
      current_role:
        description:
          - The side of its pair the session is declared to be on. After a failover and a reverse, a
            session created as the source reads C(current_role=target) (and its peer C(source)).
          - When set and the session is on the other side, nothing is changed; the session is reported
            and the task fails, naming both roles, before any write.
          - Left out, any side is accepted (in P(kaminario.k2.k2_replication_topology#module), items are
            taken as V(source) unless they say otherwise).
          - A session declared V(target) that does not exist is not created (its source array creates it).
        type: str
        choices: [source, target]
      replication_peer_k2array:
        description:
          - The peer array the session replicates to, as a name, an id or a ref such as
            C(/replication/peer_k2arrays/1).
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - Needed to create the session. Fixed at creation.
        type: str
        aliases: [peer_array]
      local_volume_group:
        description:
          - The local volume group to replicate, as a name, an id or a ref such as C(/volume_groups/5).
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - Needed to create the session. Fixed at creation.
        type: str
        aliases: [volume_group]
      rpo:
        description:
          - The recovery point objective, in seconds. V(60), or a multiple of V(300).
          - Needed to create the session. Can be changed later.
        type: int
      retention_policy:
        description:
          - The local retention policy, as a name, an id or a ref such as C(/retention_policies/5).
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - When a new session is created without it, the array uses its default policy.
        type: str
      external_retention_policy:
        description:
          - The retention policy of the replicated snapshots on the peer array, as a name, an id or a ref.
          - "A name is taken literally (spaces included); one that reads as an id or a ref (all digits, or
            starting with C(/)) is written with C(name:) before it: C(name:5102) is the object named 5102."
          - When a new session is created without it, the array uses its default policy.
        type: str
      target_exposure:
        description:
          - How the replicated volumes are exposed on the peer array.
          - One of V(unmapped), V(Read Only) or V(Mapped - Not Exposed). Case, spaces, hyphens and
            underscores do not matter (V(read_only), V(read only) and V(READ-ONLY) are all V(Read Only));
            the value is compared that way and sent in the spelling above. Any other value fails before
            any request.
        type: str
      remote_replication_session_name:
        description:
          - The name of the session the array creates on the peer array. The array's default is
            C(remote_<name>).
          - Fixed at creation.
        type: str
        aliases: [remote_session_name]
      replication_peer_volume_group_name:
        description:
          - The name of the volume group the array creates on the peer array. The array's default is the
            name of the local volume group.
          - Used on create only. The session shows its peer group as a ref, not a name, so this option is
            not compared on an existing session.
        type: str
        aliases: [peer_volume_group_name]
      auto_configure_peer_volumes:
        description:
          - Let the array create the peer volumes.
          - Used on create only. The API does not show it back, so it is not compared on an existing
            session.
        type: bool
      replication_state:
        description:
          - The state the session must end in. Left out, the session's state is not touched.
          - V(in_sync) starts (or resumes) replication. On a V(failed_over) target-side session, it
            reverses the direction of replication, and the session becomes the source.
          - V(suspended) pauses replication, V(idle) stops it.
          - V(failed_over) fails over a target-side session (one whose C(current_role) is C(target)), so
            that its copy becomes writable. It needs nothing from the source array and works while the
            source array is down.
          - A source session suspended because its peer failed over (C(suspend_reason_code=peer_failed_over))
            cannot be resumed; the array refuses while the peer is failed over. V(in_sync) then fails before
            any write (in check mode too) and says to fail back from the DR side.
          - A new session starts V(idle).
        type: str
        choices: [in_sync, suspended, idle, failed_over]
      snapshot_wwn:
        description:
          - Sent with the transition that reaches O(sessions[].replication_state) (the API's C(snapshot_wwn)).
          - Nothing is sent when the session is already in that state.
        type: str
      offline_initial_sync:
        description:
          - Sent with the transition that reaches O(sessions[].replication_state) (the API's C(offline_initial_sync)).
          - Nothing is sent when the session is already in that state.
        type: bool
      restored_snapshot:
        description:
          - "The snapshot a failover restores, with O(sessions[].replication_state=failed_over): a name, an id, a ref
            such as C(/snapshots/428), or V(latest) for the session's C(latest_replicated_snapshot)."
          - Evaluated only when a failover is actually sent. V(latest) costs no request, and a session that
            is already V(failed_over) is left as it is, whatever its snapshots.
        type: str
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until each transition has landed, polling the sessions in transition (one request per
        round for all of them).
      - With V(false), the module still waits for the steps before the last one (the array needs
        them done before the next), but returns as soon as the last transition is accepted.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the whole run may wait for transitions, all of them together.
      - The module never sleeps past it, and fails naming the session, its current state and the
        expected one when it runs out. The array may still carry the transition out; a later run
        continues from where the session is.
    type: int
    default: 600
"""
