from tests.helpers import assert_problem


def test_submit_and_lookup(client, site, submission_body):
    s, secret = site
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "k1"})
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["tracking_code"]
    r2 = client.get(f"/api/v1/submissions/{code}?contact=0912 345 678")
    assert r2.status_code == 200, r2.get_json()
    assert r2.get_json()["status"] == "received"
    assert_problem(client.get(f"/api/v1/submissions/{code}?contact=0900000000"), 404)
