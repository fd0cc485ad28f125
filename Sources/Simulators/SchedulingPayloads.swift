import Foundation

/// The webhook bodies of the scheduling simulator's non-HL7 channels: a FHIR R4 Appointment (the patient contained,
/// the service as a CPT coding, the site as a Location participant) and a scheduling SaaS's JSON event.
enum SchedulingPayloads {
    static func fhir(_ a: SchedulingSimulator.Appointment, zone: TimeZone) -> String {
        let stop = a.start.addingTimeInterval(Double(a.minutes) * 60)
        var telecom: [JSONValue] = []
        if let phone = a.patient.phone { telecom.append(.object(["system": .string("phone"), "value": .string(phone), "use": .string("mobile")])) }
        if let email = a.patient.email { telecom.append(.object(["system": .string("email"), "value": .string(email)])) }
        let patient: JSONValue = .object([
            "resourceType": .string("Patient"), "id": .string("p1"),
            "identifier": .array([.object(["type": .object(["coding": .array([.object([
                "system": .string("http://terminology.hl7.org/CodeSystem/v2-0203"), "code": .string("MR")])])]),
                "system": .string("urn:oid:2.16.840.1.113883.3.7418.1"), "value": .string(a.patient.mrn)])]),
            "name": .array([.object(["family": .string(a.patient.family), "given": .array([.string(a.patient.given)])])]),
            "telecom": .array(telecom),
        ])
        let appointment: JSONValue = .object([
            "resourceType": .string("Appointment"), "id": .string(a.id),
            "meta": .object(["versionId": .string(String(a.version)), "lastUpdated": .string(SchedulingSimulator.iso(Date(), zone))]),
            "contained": .array([patient]),
            "status": .string(a.status),
            "serviceType": .array([.object(["coding": .array([.object([
                "system": .string("http://www.ama-assn.org/go/cpt"), "code": .string(a.code), "display": .string(a.text)])])])]),
            "start": .string(SchedulingSimulator.iso(a.start, zone)), "end": .string(SchedulingSimulator.iso(stop, zone)),
            "minutesDuration": .int(a.minutes),
            "participant": .array([
                .object(["actor": .object(["reference": .string("#p1")]), "status": .string("accepted")]),
                .object(["actor": .object(["reference": .string("Location/\(a.site)"), "display": .string(a.site)]), "status": .string("accepted")]),
            ]),
        ])
        return appointment.text
    }

    static func saas(_ a: SchedulingSimulator.Appointment, kind: String, zone: TimeZone, eventID: String) -> String {
        let event = ["booked": "appointment.scheduled", "rescheduled": "appointment.rescheduled", "modified": "appointment.updated",
                     "cancelled": "appointment.canceled", "no_show": "appointment.no_show", "completed": "appointment.completed"][kind] ?? "appointment.updated"
        let stop = a.start.addingTimeInterval(Double(a.minutes) * 60)
        var client: [String: JSONValue] = ["id": .string(a.patient.mrn), "first_name": .string(a.patient.given), "last_name": .string(a.patient.family)]
        if let phone = a.patient.phone { client["phone"] = .string(phone) }
        if let email = a.patient.email { client["email"] = .string(email) }
        if let optIn = a.patient.smsOptIn { client["sms_opt_in"] = .bool(optIn) }
        if let optIn = a.patient.emailOptIn { client["email_opt_in"] = .bool(optIn) }
        let body: JSONValue = .object([
            "id": .string(eventID), "event": .string(event), "occurred_at": .string(SchedulingSimulator.iso(Date(), zone)),
            "data": .object([
                "appointment": .object([
                    "id": .string(a.id), "starts_at": .string(SchedulingSimulator.iso(a.start, zone)), "ends_at": .string(SchedulingSimulator.iso(stop, zone)),
                    "location": .object(["code": .string(a.site)]), "service": .object(["code": .string(a.code), "name": .string(a.text)]),
                    "status": .string(a.status),
                ]),
                "client": .object(client),
            ]),
        ])
        return body.text
    }
}
