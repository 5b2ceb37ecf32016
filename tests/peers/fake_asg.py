#!/usr/bin/python3
"""fake_asg.py - a contract-checked fake of the AWS Auto Scaling Query API.

The test peer of berth's aws-asg provider (master/aws_asg.c). It serves
the Query protocol (POST / with a form body) on loopback only and, for
EVERY request:

  * verifies the SigV4 signature by recomputing it with botocore's own
    signer (botocore.auth.SigV4Auth) over the headers the request says it
    signed, and refuses a mismatch with the AWS-shaped 403
    SignatureDoesNotMatch (unknown key: InvalidClientTokenId; no
    signature: MissingAuthenticationToken; stale date: "Signature
    expired");
  * checks Action, Version and every parameter against botocore's
    service model for autoscaling 2011-01-01 (unknown action or member,
    wrong type, missing required member, length or range) and refuses
    with the AWS-shaped 400 ValidationError;
  * serialises its reply from the same model's output shape, so that
    Debian's `aws --endpoint-url` parses it.

It keeps ASG state (min, max, desired, instances with AZ, lifecycle
state and protection, scaling activities) and "boots" each new instance
by running --boot-cmd through /bin/sh with BERTH_INSTANCE_ID,
BERTH_PROVIDER_ID, BERTH_ASG_NAME and BERTH_AZ in its environment (its own
session, killed when the instance is terminated), so a test can start a
real berth-agent per instance.

This is our reading of the API, not AWS itself: no eventual consistency,
no AZ rebalancing, instances never fail health checks.

Control (unsigned, loopback): GET /_fake/state gives the state and the
counters as JSON; POST /_fake/fault with a JSON body injects faults:
  {"throttle": N}          the next N signed calls get Throttling (400)
  {"fail_launch": N}       the next N launches record a Failed activity
                           ("insufficient capacity") and start nothing
  {"slow_ms": M, "slow_n": N}  the next N replies wait M ms first
  {"no_boot": N}           the next N instances launch but their
                           --boot-cmd is never run: they never join
  {"error_code": C, "error_status": S, "error_n": N}
                           the next N signed calls fail with AWS code C and
                           HTTP status S (ResourceContention 500...)

  fake_asg.py --port-file F --access-key AK --secret-key SK [--token T]
      [--region R] --group NAME:MIN:MAX:DESIRED[:AZ,AZ] ... [--boot-cmd CMD]
      [--boot-delay-ms MS] [--log-dir DIR]

The secret is never printed; each request is logged as its action and
parameters only.
"""
import argparse
import datetime
import hmac
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.loaders
import botocore.model
import botocore.validate

NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
VERSION = "2011-01-01"
MODEL = botocore.model.ServiceModel(
    botocore.loaders.Loader().load_service_model(
        "autoscaling", "service-2", VERSION), "autoscaling")
IMPLEMENTED = {"DescribeAutoScalingGroups", "SetDesiredCapacity",
               "SetInstanceProtection", "TerminateInstanceInAutoScalingGroup",
               "DescribeScalingActivities"}
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/([^/,]+)/"
    r"aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$")


class ApiError(Exception):
    def __init__(self, status, code, message, kind="Sender"):
        super().__init__(message)
        self.status, self.code, self.message, self.kind = \
            status, code, message, kind


def log(msg):
    sys.stderr.write("fake_asg: %s\n" % msg)
    sys.stderr.flush()


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


# ---- the request side of the model -------------------------------------------

def _scalar(shape, key, value):
    t = shape.type_name
    if t in ("integer", "long"):
        if not re.fullmatch(r"-?[0-9]{1,18}", value):
            raise ApiError(400, "ValidationError",
                           "Value '%s' at '%s' failed to satisfy constraint: "
                           "Member must be a number" % (value, key))
        v = int(value)
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ApiError(400, "ValidationError",
                           "Value '%s' at '%s' failed to satisfy constraint: "
                           "Member must be between %s and %s"
                           % (value, key, lo, hi))
        return v
    if t == "boolean":
        if value not in ("true", "false"):
            raise ApiError(400, "ValidationError",
                           "Value '%s' at '%s' failed to satisfy constraint: "
                           "Member must be true or false" % (value, key))
        return value == "true"
    if t in ("double", "float"):
        try:
            return float(value)
        except ValueError:
            raise ApiError(400, "ValidationError",
                           "Value '%s' at '%s' is not a number" % (value, key))
    if t == "string":
        hi = shape.metadata.get("max")
        if hi is not None and len(value) > hi:
            raise ApiError(400, "ValidationError",
                           "Value at '%s' failed to satisfy constraint: "
                           "Member must have length less than or equal to %d"
                           % (key, hi))
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            raise ApiError(400, "ValidationError",
                           "Value '%s' at '%s' failed to satisfy constraint: "
                           "Member must satisfy enum value set: %s"
                           % (value, key, enum))
    return value


def _present(form, key):
    return any(k == key or k.startswith(key + ".") for k in form)


def _deser(shape, key, form, used):
    """Query-protocol form -> the Python value botocore validates."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, ms in shape.members.items():
            k = (key + "." if key else "") + ms.serialization.get("name", name)
            if ms.type_name in ("structure", "list", "map"):
                if _present(form, k):
                    out[name] = _deser(ms, k, form, used)
            elif k in form:
                used.add(k)
                out[name] = _scalar(ms, k, form[k])
        return out
    if t == "list":
        if form.get(key) == "":  # the Query form of an empty list
            used.add(key)
            return []
        base = key if shape.serialization.get("flattened") else \
            key + "." + shape.member.serialization.get("name", "member")
        items, i = [], 1
        while True:
            k = "%s.%d" % (base, i)
            if shape.member.type_name in ("structure", "list", "map"):
                if not _present(form, k):
                    break
                items.append(_deser(shape.member, k, form, used))
            else:
                if k not in form:
                    break
                used.add(k)
                items.append(_scalar(shape.member, k, form[k]))
            i += 1
        return items
    if t == "map":
        out, i = {}, 1
        while "%s.entry.%d.key" % (key, i) in form:
            kk, kv = "%s.entry.%d.key" % (key, i), "%s.entry.%d.value" % (key, i)
            used.update((kk, kv))
            out[form[kk]] = _deser(shape.value, kv, form, used) \
                if shape.value.type_name in ("structure", "list", "map") \
                else _scalar(shape.value, kv, form.get(kv, ""))
            i += 1
        return out
    raise ApiError(400, "ValidationError", "bad shape at '%s'" % key)


def check_params(action, form):
    """Validate a request against the model; returns (operation, params)."""
    if action not in MODEL.operation_names:
        raise ApiError(400, "InvalidAction",
                       "Could not find operation %s for version %s"
                       % (action, VERSION))
    op = MODEL.operation_model(action)
    params, used = {}, {"Action", "Version"}
    if op.input_shape is not None:
        params = _deser(op.input_shape, "", form, used)
    unknown = sorted(set(form) - used)
    if unknown:
        raise ApiError(400, "ValidationError",
                       "Unknown parameter%s for %s: %s"
                       % ("s" if len(unknown) > 1 else "", action,
                          ", ".join(unknown)))
    if op.input_shape is not None:
        report = botocore.validate.ParamValidator().validate(
            params, op.input_shape)
        if report.has_errors():
            raise ApiError(400, "ValidationError",
                           report.generate_report().replace("\n", " "))
    return op, params


# ---- the reply side of the model ----------------------------------------------

def _ser(shape, value):
    t = shape.type_name
    if t == "structure":
        parts = []
        for name, ms in shape.members.items():
            if name in value and value[name] is not None:
                tag = ms.serialization.get("name", name)
                parts.append("<%s>%s</%s>" % (tag, _ser(ms, value[name]), tag))
        return "".join(parts)
    if t == "list":
        tag = shape.member.serialization.get("name", "member")
        return "".join("<%s>%s</%s>" % (tag, _ser(shape.member, v), tag)
                       for v in value)
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return escape(str(value))


def reply_xml(op, result):
    body = ""
    if op.output_shape is not None:
        wrap = op.output_shape.serialization["resultWrapper"]
        body = "<%s>%s</%s>" % (wrap, _ser(op.output_shape, result), wrap)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s">'
            '%s<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>'
            '</%sResponse>\n' % (op.name, NS, body, uuid.uuid4(), op.name))


def error_xml(err):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="%s">'
            '<Error><Type>%s</Type><Code>%s</Code><Message>%s</Message>'
            '</Error><RequestId>%s</RequestId></ErrorResponse>\n'
            % (NS, err.kind, escape(err.code), escape(err.message),
               uuid.uuid4()))


# ---- the state -----------------------------------------------------------------

class Fake:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.groups = {}
        self.procs = {}          # instance id -> Popen
        self.faults = {"throttle": 0, "fail_launch": 0, "slow_ms": 0,
                       "slow_n": 0, "no_boot": 0, "error_code": "", "error_status": 500,
                       "error_n": 0}
        self.counters = {"requests": 0, "throttled": 0, "injected": 0,
                         "signature_refused": 0,
                         "validation_refused": 0, "by_action": {},
                         "set_desired": [], "lowered": 0, "terminated": [],
                         "protect_calls": 0}
        for spec in args.group:
            f = spec.split(":")
            if len(f) < 4:
                sys.exit("fake_asg: --group NAME:MIN:MAX:DESIRED[:AZ,AZ]")
            azs = f[4].split(",") if len(f) > 4 else [args.region + "a"]
            self.groups[f[0]] = {
                "name": f[0], "min": int(f[1]), "max": int(f[2]),
                "desired": 0, "azs": azs, "instances": [], "activities": [],
                "created": now_utc(), "next_az": 0}
            self.groups[f[0]]["desired"] = int(f[3])
            self._converge(self.groups[f[0]], "an initial desired capacity")

    # Launch instances until as many as desired are alive (AWS does this
    # asynchronously; here it happens within the call that changed desired).
    def _converge(self, g, why):
        while len(g["instances"]) < g["desired"]:
            act = {"ActivityId": str(uuid.uuid4()),
                   "AutoScalingGroupName": g["name"],
                   "StartTime": now_utc(), "EndTime": now_utc(),
                   "Progress": 100}
            if self.faults["fail_launch"] > 0:
                self.faults["fail_launch"] -= 1
                act.update(Description="Launching a new EC2 instance.  "
                           "Status Reason: We currently do not have "
                           "sufficient capacity in the Availability Zone "
                           "you requested. Launching EC2 instance failed.",
                           Cause="At %s an instance was started in response "
                           "to %s." % (now_utc().isoformat(), why),
                           StatusCode="Failed",
                           StatusMessage="We currently do not have sufficient "
                           "capacity in the Availability Zone you requested.")
                g["activities"].insert(0, act)
                return
            iid = "i-" + secrets.token_hex(8) + "0"
            az = g["azs"][g["next_az"] % len(g["azs"])]
            g["next_az"] += 1
            g["instances"].append({
                "InstanceId": iid, "AvailabilityZone": az,
                "LifecycleState": "Pending", "HealthStatus": "Healthy",
                "ProtectedFromScaleIn": False, "InstanceType": "t3.micro",
                "_born": time.monotonic()})
            act.update(Description="Launching a new EC2 instance: " + iid,
                       Cause="At %s an instance was started in response to "
                       "%s." % (now_utc().isoformat(), why),
                       StatusCode="Successful")
            g["activities"].insert(0, act)
            self._boot(g, iid, az)

    def _boot(self, g, iid, az):
        if not self.args.boot_cmd:
            return
        if self.faults["no_boot"] > 0:
            self.faults["no_boot"] -= 1
            return
        env = dict(os.environ, BERTH_INSTANCE_ID=iid, BERTH_PROVIDER_ID=iid,
                   BERTH_ASG_NAME=g["name"], BERTH_AZ=az)
        out = subprocess.DEVNULL
        if self.args.log_dir:
            out = open(os.path.join(self.args.log_dir, iid + ".log"), "ab")
        self.procs[iid] = subprocess.Popen(
            ["/bin/sh", "-c", self.args.boot_cmd], env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if out is not subprocess.DEVNULL:
            out.close()

    def _kill(self, iid):
        p = self.procs.pop(iid, None)
        if p is None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def shutdown(self):
        with self.lock:
            for iid in list(self.procs):
                self._kill(iid)

    def _group(self, name):
        g = self.groups.get(name)
        if g is None:
            raise ApiError(400, "ValidationError",
                           "AutoScalingGroup name not found - "
                           "AutoScalingGroup %s not found" % name)
        return g

    def _find(self, iid):
        for g in self.groups.values():
            for inst in g["instances"]:
                if inst["InstanceId"] == iid:
                    return g, inst
        return None, None

    # -- the actions (called with the lock held) --
    def DescribeAutoScalingGroups(self, p):
        names = p.get("AutoScalingGroupNames")
        out = []
        for g in self.groups.values():
            if names and g["name"] not in names:
                continue
            for inst in g["instances"]:
                if inst["LifecycleState"] == "Pending" and \
                        time.monotonic() - inst["_born"] >= \
                        self.args.boot_delay_ms / 1000.0:
                    inst["LifecycleState"] = "InService"
            out.append({
                "AutoScalingGroupName": g["name"],
                "AutoScalingGroupARN": "arn:aws:autoscaling:%s:000000000000:"
                "autoScalingGroup:%s:autoScalingGroupName/%s"
                % (self.args.region, uuid.uuid5(uuid.NAMESPACE_DNS, g["name"]),
                   g["name"]),
                "MinSize": g["min"], "MaxSize": g["max"],
                "DesiredCapacity": g["desired"], "DefaultCooldown": 300,
                "AvailabilityZones": g["azs"], "HealthCheckType": "EC2",
                "CreatedTime": g["created"],
                "NewInstancesProtectedFromScaleIn": False,
                "Instances": [{k: v for k, v in i.items()
                               if not k.startswith("_")}
                              for i in g["instances"]]})
        return {"AutoScalingGroups": out}

    def SetDesiredCapacity(self, p):
        g = self._group(p["AutoScalingGroupName"])
        d = p["DesiredCapacity"]
        if d > g["max"]:
            raise ApiError(400, "ValidationError",
                           "New SetDesiredCapacity value %d is above max value "
                           "%d for the AutoScalingGroup." % (d, g["max"]))
        if d < g["min"]:
            raise ApiError(400, "ValidationError",
                           "New SetDesiredCapacity value %d is below min value "
                           "%d for the AutoScalingGroup." % (d, g["min"]))
        self.counters["set_desired"].append(d)
        if d < g["desired"]:
            # AWS would now pick victims itself: what berth must never cause.
            self.counters["lowered"] += 1
            while len(g["instances"]) > d:
                victim = next((i for i in reversed(g["instances"])
                               if not i["ProtectedFromScaleIn"]), None)
                if victim is None:
                    break
                self._remove(g, victim, "a user request to lower capacity")
        g["desired"] = d
        self._converge(g, "a user request explicitly set group desired "
                       "capacity changing the desired capacity to %d" % d)
        return {}

    def SetInstanceProtection(self, p):
        g = self._group(p["AutoScalingGroupName"])
        self.counters["protect_calls"] += 1
        ids = p["InstanceIds"]
        by_id = {i["InstanceId"]: i for i in g["instances"]}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise ApiError(400, "ValidationError",
                           "The instance %s is not part of Auto Scaling group "
                           "%s." % (missing[0], g["name"]))
        for i in ids:
            by_id[i]["ProtectedFromScaleIn"] = p["ProtectedFromScaleIn"]
        return {}

    def _remove(self, g, inst, why):
        g["instances"].remove(inst)
        self._kill(inst["InstanceId"])
        self.counters["terminated"].append(inst["InstanceId"])
        act = {"ActivityId": str(uuid.uuid4()),
               "AutoScalingGroupName": g["name"],
               "Description": "Terminating EC2 instance: " + inst["InstanceId"],
               "Cause": "At %s instance %s was taken out of service in "
               "response to %s." % (now_utc().isoformat(), inst["InstanceId"],
                                    why),
               "StartTime": now_utc(), "EndTime": now_utc(),
               "StatusCode": "Successful", "Progress": 100}
        g["activities"].insert(0, act)
        return act

    def TerminateInstanceInAutoScalingGroup(self, p):
        g, inst = self._find(p["InstanceId"])
        if inst is None:
            raise ApiError(400, "ValidationError",
                           "Instance Id not found - No managed instance found "
                           "for instance ID: %s" % p["InstanceId"])
        dec = p["ShouldDecrementDesiredCapacity"]
        if dec and g["desired"] - 1 < g["min"]:
            raise ApiError(400, "ValidationError",
                           "Currently, desiredSize equals minSize (%d). "
                           "Terminating instance without replacement will "
                           "violate group's min size constraint. Either set "
                           "shouldDecrementDesiredCapacity flag to false or "
                           "lower group's min size." % g["min"])
        act = self._remove(g, inst, "a user request%s" %
                           (" shrinking the capacity from %d to %d"
                            % (g["desired"], g["desired"] - 1) if dec else ""))
        if dec:
            g["desired"] -= 1
        else:
            self._converge(g, "an instance taken out of service")
        return {"Activity": act}

    def DescribeScalingActivities(self, p):
        names = [p["AutoScalingGroupName"]] if "AutoScalingGroupName" in p \
            else list(self.groups)
        acts = []
        for n in names:
            acts += self._group(n)["activities"]
        acts.sort(key=lambda a: a["StartTime"], reverse=True)
        return {"Activities": acts[:p.get("MaxRecords", 100)]}

    def state(self):
        gs = {}
        for g in self.groups.values():
            gs[g["name"]] = {
                "min": g["min"], "max": g["max"], "desired": g["desired"],
                "instances": [{"id": i["InstanceId"],
                               "az": i["AvailabilityZone"],
                               "protected": i["ProtectedFromScaleIn"],
                               "state": i["LifecycleState"],
                               "running": i["InstanceId"] in self.procs and
                               self.procs[i["InstanceId"]].poll() is None}
                              for i in g["instances"]]}
        return {"groups": gs, "counters": self.counters, "faults": self.faults}


# ---- signature ------------------------------------------------------------------

def verify_signature(args, method, path, headers, body):
    auth = headers.get("Authorization")
    if not auth:
        raise ApiError(403, "MissingAuthenticationToken",
                       "Request is missing Authentication Token")
    m = AUTH_RE.match(auth)
    if not m:
        raise ApiError(400, "IncompleteSignature",
                       "Authorization header requires 'Credential', "
                       "'SignedHeaders' and 'Signature'.")
    akid, day, region, service, signed, sig = m.groups()
    if akid != args.access_key:
        raise ApiError(403, "InvalidClientTokenId",
                       "The security token included in the request is invalid.")
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        raise ApiError(403, "SignatureDoesNotMatch",
                       "host and x-amz-date must be signed")
    amz_date = headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ApiError(400, "IncompleteSignature", "bad X-Amz-Date")
    if abs((now_utc() - when).total_seconds()) > 300:
        raise ApiError(403, "SignatureDoesNotMatch",
                       "Signature expired: %s is now earlier or later than "
                       "5 minutes from now" % amz_date)
    if day != amz_date[:8] or region != args.region or service != "autoscaling":
        raise ApiError(403, "SignatureDoesNotMatch",
                       "Credential should be scoped to a valid region and "
                       "service 'autoscaling' on date %s" % amz_date[:8])
    if args.token is not None and \
            headers.get("X-Amz-Security-Token") != args.token:
        raise ApiError(403, "InvalidClientTokenId",
                       "The security token included in the request is invalid.")
    if args.token is not None and "x-amz-security-token" not in names:
        raise ApiError(403, "SignatureDoesNotMatch",
                       "x-amz-security-token must be among the signed headers")
    signed_headers = {}
    for n in names:
        v = headers.get_all(n)
        if v is None:
            raise ApiError(403, "SignatureDoesNotMatch",
                           "signed header %s is missing" % n)
        signed_headers[n] = ",".join(v)
    req = botocore.awsrequest.AWSRequest(
        method=method, url="http://%s%s" % (headers["Host"], path),
        data=body, headers=signed_headers)
    req.context["timestamp"] = amz_date
    creds = botocore.credentials.Credentials(args.access_key, args.secret_key,
                                             args.token)
    signer = botocore.auth.SigV4Auth(creds, "autoscaling", args.region)
    canonical = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(want, sig):
        raise ApiError(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match "
                       "the signature you provided. Check your AWS Secret "
                       "Access Key and signing method. Consult the service "
                       "documentation for details.")


# ---- HTTP -------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_asg"

    def log_message(self, fmt, *a):
        pass

    def _send(self, status, body, ctype="text/xml"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        fake = self.server.fake
        if self.path == "/_fake/state":
            with fake.lock:
                self._send(200, json.dumps(fake.state()), "application/json")
            return
        self._send(400, error_xml(ApiError(
            400, "InvalidRequest", "only POST with a form body is served")))

    def do_POST(self):
        fake = self.server.fake
        body = self._body()
        if self.path == "/_fake/fault":
            with fake.lock:
                fake.faults.update(json.loads(body or b"{}"))
                self._send(200, json.dumps(fake.faults), "application/json")
            return
        slow = 0
        try:
            ctype = self.headers.get("Content-Type", "")
            if not ctype.startswith("application/x-www-form-urlencoded"):
                raise ApiError(400, "InvalidRequest",
                               "Content-Type must be "
                               "application/x-www-form-urlencoded")
            if self.path != "/":
                raise ApiError(400, "InvalidRequest",
                               "parameters belong in the form body")
            with fake.lock:
                fake.counters["requests"] += 1
                if fake.faults["slow_n"] > 0:
                    fake.faults["slow_n"] -= 1
                    slow = fake.faults["slow_ms"]
            try:
                verify_signature(fake.args, "POST", self.path, self.headers,
                                 body)
            except ApiError:
                with fake.lock:
                    fake.counters["signature_refused"] += 1
                raise
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=bool(body))
            form = {}
            for k, v in pairs:
                if k in form:
                    raise ApiError(400, "ValidationError",
                                   "parameter %s given twice" % k)
                form[k] = v
            action = form.get("Action", "")
            log("%s %s" % (action or "(no action)", " ".join(
                "%s=%s" % kv for kv in sorted(form.items())
                if kv[0] not in ("Action", "Version"))))
            if form.get("Version") != VERSION:
                raise ApiError(400, "InvalidParameterValue",
                               "Version must be %s" % VERSION)
            try:
                op, params = check_params(action, form)
            except ApiError:
                with fake.lock:
                    fake.counters["validation_refused"] += 1
                raise
            if action not in IMPLEMENTED:
                raise ApiError(400, "InvalidAction",
                               "the fake does not implement %s" % action)
            with fake.lock:
                by = fake.counters["by_action"]
                by[action] = by.get(action, 0) + 1
                if fake.faults["throttle"] > 0:
                    fake.faults["throttle"] -= 1
                    fake.counters["throttled"] += 1
                    raise ApiError(400, "Throttling", "Rate exceeded")
                if fake.faults["error_n"] > 0:
                    fake.faults["error_n"] -= 1
                    fake.counters["injected"] += 1
                    raise ApiError(fake.faults["error_status"],
                                   fake.faults["error_code"],
                                   "injected by the test", "Receiver")
                result = getattr(fake, action)(params)
            status, reply = 200, reply_xml(op, result)
        except ApiError as e:
            log("refused: %s: %s" % (e.code, e.message))
            status, reply = e.status, error_xml(e)
        except (ValueError, UnicodeDecodeError) as e:
            status, reply = 400, error_xml(ApiError(
                400, "MalformedQueryString", str(e)))
        if slow:
            time.sleep(slow / 1000.0)
        self._send(status, reply)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--token")
    ap.add_argument("--group", action="append", default=[])
    ap.add_argument("--boot-cmd")
    ap.add_argument("--boot-delay-ms", type=int, default=0)
    ap.add_argument("--log-dir")
    args = ap.parse_args()
    fake = Fake(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.fake = fake

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    log("listening on 127.0.0.1:%d (region %s)" % (port, args.region))
    srv.serve_forever()
    fake.shutdown()


if __name__ == "__main__":
    main()
