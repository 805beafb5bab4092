def test_health_answers_ok(anon, db):
    r = anon.get("/api/v1/health/")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"
