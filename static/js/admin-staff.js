// Staff accounts: everyone who signs in, their role and manager; admins add and change them.

import { api } from "./api.js";
import { choices, clear, el, field, flash, input, select, submitting, table, words } from "./admin-ui.js";

export async function showStaff(root, shared) {
  const staff = await api.get("/api/staff");
  const isAdmin = shared.user.role === "admin";
  const editor = el("div", { id: "staff-editor" });
  const names = new Map(staff.map((s) => [s.id, s.name]));
  const chain = shared.org.safeguarding_chain || [];
  const rows = staff.map((s) => el("tr", { class: s.active ? "" : "inactive" },
    el("td", {}, s.name), el("td", {}, s.email), el("td", {}, words(s.role),
      chain.includes(s.id) ? el("span", { class: "tag" }, chain[0] === s.id ? "DSL" : "deputy DSL") : null),
    el("td", {}, s.phone || "\u2014"), el("td", {}, names.get(s.manager_id) || "\u2014"),
    el("td", {}, s.active ? "active" : "deactivated"),
    el("td", {}, isAdmin ? el("button", { class: "btn btn-small", type: "button",
      onclick: () => edit(editor, root, shared, staff, s) }, "Edit") : null)));
  clear(root,
    el("div", { class: "view-head" }, el("h2", {}, "Staff"),
      isAdmin ? el("button", { class: "btn btn-primary", type: "button",
        onclick: () => edit(editor, root, shared, staff, null) }, "New staff member") : null),
    isAdmin ? null : el("p", { class: "muted" }, "Only administrators add or change staff accounts."),
    table(["Name", "E-mail", "Role", "Phone", "Manager", "Account", ""], rows), editor);
}

function edit(holder, root, shared, staff, member) {
  const roles = choices(shared.openapi, "/api/staff", "post", "role");
  const email = input("email", { type: "email", required: true, maxlength: 320, value: member?.email ?? "" });
  const name = input("name", { required: true, maxlength: 200, value: member?.name ?? "" });
  const role = select("role", roles.map((r) => [r, words(r)]), member?.role ?? "tutor");
  const password = input("password", { type: "password", autocomplete: "new-password", minlength: 10 });
  const managers = staff.filter((s) => s.active && s.id !== member?.id);
  const manager = select("manager_id", [["", "No manager"], ...managers.map((s) => [s.id, s.name])],
    member?.manager_id ?? "");
  const phone = input("phone", { type: "tel", maxlength: 40, value: member?.phone ?? "" });
  const active = input("active", { type: "checkbox", checked: member?.active ?? true });
  const form = el("form", { class: "card stack", id: "staff-form", novalidate: true },
    el("h3", {}, member ? `Edit ${member.name}` : "New staff member"),
    el("div", { class: "form-grid" }, field("E-mail", email), field("Name", name), field("Role", role),
      field(member ? "New password" : "Password", password, member ? "leave blank to keep it" : "10 characters or more"),
      field("Manager", manager, "alerts about this person's sessions escalate to them"), field("Phone", phone)),
    member ? el("label", { class: "field check" }, active, el("span", {}, "Account active (can sign in)")) : null,
    el("p", { class: "form-error", role: "alert", hidden: true }),
    el("div", { class: "row" }, el("button", { class: "btn btn-primary", type: "submit" }, "Save"),
      el("button", { class: "btn", type: "button", onclick: () => clear(holder) }, "Close")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { email: email.value.trim(), name: name.value.trim(), role: role.value,
                   manager_id: Number(manager.value) || null, phone: phone.value.trim() };
    if (password.value) body.password = password.value;
    if (member) body.active = active.checked;
    const saved = await submitting(form, () => (member
      ? api.patch(`/api/staff/${member.id}`, body) : api.post("/api/staff", body)));
    if (!saved) return;
    await shared.tutors(true);
    await showStaff(root, shared);
    flash(`${saved.name} saved.`);
  });
  clear(holder, form);
  email.focus();
}
