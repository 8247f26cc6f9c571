"""Aliases through the unmodified qdrant-client against a real `hsdb serve`: create, rename
and delete (all or none), listing, every route reached by an alias, Qdrant's refusals, and
the aliases kept across a restart."""
from qdrant_client import models

from conftest import qdrant_client
from refusals import refused


def test_aliases_name_collections_everywhere(fresh_server, transport):
    s = fresh_server()
    c = qdrant_client(s, transport, check_compatibility=False)
    for name in ("v1", "v2"):
        c.create_collection(name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    c.upsert("v1", [models.PointStruct(id=1, vector=[1, 0], payload={"v": 1})], wait=True)
    c.upsert("v2", [models.PointStruct(id=2, vector=[0, 1], payload={"v": 2})], wait=True)
    c.update_collection_aliases([models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="v1", alias_name="prod"))])
    assert [(a.alias_name, a.collection_name) for a in c.get_aliases().aliases] == [("prod", "v1")]
    assert [h.id for h in c.query_points("prod", query=[1, 1]).points] == [1]
    c.upsert("prod", [models.PointStruct(id=3, vector=[1, 1])], wait=True)
    assert c.count("v1").count == 2 and c.get_collection("prod").points_count == 2
    # Switch atomically: the deletion and the creation in one request.
    c.update_collection_aliases([
        models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="prod")),
        models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="v2", alias_name="prod"))])
    assert [h.id for h in c.query_points("prod", query=[1, 1]).points] == [2]
    c.update_collection_aliases([models.RenameAliasOperation(rename_alias=models.RenameAlias(old_alias_name="prod", new_alias_name="live"))])
    assert [a.alias_name for a in c.get_collection_aliases("v2").aliases] == ["live"] and c.get_collection_aliases("v1").aliases == []
    with refused() as e:  # all or none
        c.update_collection_aliases([
            models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="v1", alias_name="extra")),
            models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="nope"))])
    assert e.value.status_code == 404 and "Alias `nope` doesn" in str(e.value)
    assert [a.alias_name for a in c.get_aliases().aliases] == ["live"]
    with refused() as e:
        c.update_collection_aliases([models.CreateAliasOperation(create_alias=models.CreateAlias(collection_name="v2", alias_name="v1"))])
    assert e.value.status_code == 409
    with refused() as e:
        c.create_collection("live", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    assert e.value.status_code == 400
    c.close()
    assert s.stop() == 0
    s2 = fresh_server(data=s.data_dir)
    c = qdrant_client(s2, transport, check_compatibility=False)
    assert [(a.alias_name, a.collection_name) for a in c.get_aliases().aliases] == [("live", "v2")]
    c.delete_collection("v2")
    assert c.get_aliases().aliases == []
    with refused() as e:
        c.query_points("live", query=[1, 1])
    assert e.value.status_code == 404
    c.close()
