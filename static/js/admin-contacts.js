// A person's contacts: attendance, emergency, employer and line manager; add, edit, remove.
// (Opening this list with emergency contacts in it is recorded in the audit log by the server.)

import { api } from "./api.js";
import { clear, el, field, flash, input, select, submitting, table, words } from "./admin-ui.js";

const KINDS = ["emergency", "attendance", "employer", "line_manager"];

export function contactsPanel(person) {
  const list = el("div");
  const editor = el("div");
  const panel = el("section", { class: "card stack", id: "contacts" },
    el("div", { class: "view-head" }, el("h3", {}, "Contacts"),
      el("button", { class: "btn", type: "button", onclick: () => edit(null) }, "Add contact")),
    list, editor);

  async function load() {
    const found = await api.get(`/api/people/${person.id}/contacts`);
    clear(list, table(["Kind", "Name", "Relationship", "Phone", "E-mail", "Order", ""], found.map((c) => el("tr", {},
      el("td", {}, el("span", { class: `tag tag-${c.kind}` }, words(c.kind))), el("td", {}, c.name),
      el("td", {}, c.relationship || "\u2014"), el("td", {}, c.phone || "\u2014"), el("td", {}, c.email || "\u2014"),
      el("td", { class: "num" }, String(c.priority)),
      el("td", { class: "actions" },
        el("button", { class: "btn btn-small", type: "button", onclick: () => edit(c) }, "Edit"),
        el("button", { class: "btn btn-small btn-danger", type: "button", onclick: () => remove(c) }, "Remove")))),
    "No contacts yet. AP pupils need an attendance contact and an emergency contact."));
  }

  async function remove(contact) {
    if (!window.confirm(`Remove ${contact.name} from ${person.name}'s contacts?`)) return;
    try {
      await api.delete(`/api/contacts/${contact.id}`);
      flash(`${contact.name} removed.`);
    } catch (error) {
      flash(error.message, "error");
    }
    await load();
  }

  function edit(contact) {
    const c = contact ?? { kind: "emergency", preferred_channel: "phone", priority: 0 };
    const kind = select("kind", KINDS.map((k) => [k, words(k)]), c.kind);
    const name = input("name", { required: true, maxlength: 200, value: c.name ?? "" });
    const relationship = input("relationship", { maxlength: 100, value: c.relationship ?? "" });
    const phone = input("phone", { type: "tel", maxlength: 40, value: c.phone ?? "" });
    const email = input("email", { type: "email", maxlength: 320, value: c.email ?? "" });
    const organisation = input("organisation", { maxlength: 200, value: c.organisation ?? "" });
    const channel = select("preferred_channel", [["email", "e-mail"], ["phone", "phone"]], c.preferred_channel);
    const priority = input("priority", { type: "number", min: 0, max: 100, value: c.priority ?? 0 });
    const form = el("form", { class: "stack", id: "contact-form", novalidate: true },
      el("h4", {}, contact ? `Edit ${contact.name}` : "New contact"),
      el("div", { class: "form-grid" }, field("Kind", kind), field("Name", name), field("Relationship", relationship),
        field("Phone", phone, "emergency contacts need one"), field("E-mail", email), field("Organisation", organisation),
        field("Reach by", channel), field("Order", priority, "0 is called first")),
      el("p", { class: "form-error", role: "alert", hidden: true }),
      el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "submit" }, "Save contact"),
        el("button", { class: "btn", type: "button", onclick: () => clear(editor) }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { kind: kind.value, name: name.value.trim(), relationship: relationship.value.trim(),
                     phone: phone.value.trim(), email: email.value.trim(), organisation: organisation.value.trim(),
                     preferred_channel: channel.value, priority: Number(priority.value) || 0 };
      const saved = await submitting(form, () => (contact
        ? api.patch(`/api/contacts/${contact.id}`, body) : api.post(`/api/people/${person.id}/contacts`, body)));
      if (!saved) return;
      flash(`${saved.name} saved.`);
      clear(editor);
      await load();
    });
    clear(editor, form);
    name.focus();
  }

  load().catch((error) => clear(list, el("p", { class: "outcome outcome-bad" }, error.message)));
  return panel;
}
