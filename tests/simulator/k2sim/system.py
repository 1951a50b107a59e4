"""system/state (one object, its current_user_role per caller) and replication/rpo_history."""

from k2sim.resource import Resource
from k2sim.schema import INT, REF, RPO_HISTORY, SESSIONS, STR, SYSTEM_STATE, Field


class SystemState(Resource):
    path = SYSTEM_STATE
    fields = {
        "id": Field(INT),
        "rest_api_version": Field(STR),
        "system_id": Field(STR),
        "system_name": Field(STR),
        "state": Field(STR),
        "current_user_role": Field(STR),
        "iscsi_qualified_target_name": Field(STR),
        "replication_default_target_exposure": Field(STR),
        "replication_protocol_version": Field(INT),
        "replication_min_protocol_version": Field(INT),
    }
    unique_name = False
    computed = {"current_user_role": lambda ctx, record: ctx.user.role if ctx.user else None}

    def defaults(self, sim, arr):
        return {
            "rest_api_version": "2.2.0",
            "system_id": arr.system_id,
            "system_name": arr.name,
            "state": "ONLINE",
            "iscsi_qualified_target_name": "iqn.2009-01.com.kaminario:storage.k2.%s" % arr.system_id,
            "replication_default_target_exposure": "unmapped",
            "replication_protocol_version": 6,
            "replication_min_protocol_version": 4,
        }


class RpoHistory(Resource):
    path = RPO_HISTORY
    fields = {
        "id": Field(INT),
        "session": Field(REF, SESSIONS),
        "role": Field(STR),
        "target_rpo": Field(INT),
        "generation_number": Field(INT),
        "round_start": Field(INT),
        "round_end": Field(INT),
        "bytes_transmitted_logical": Field(INT),
        "bytes_transmitted_physical": Field(INT),
    }
    unique_name = False
