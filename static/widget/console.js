/* The console's one script: progressive enhancement only (every page works without it).
 * Adds a "copy" button beside the embed snippet and a new secret key, and shows the preview of
 * a variant as soon as it is chosen. Served from the relay under script-src 'self'. */
const COPY = "Chép · Copy";
const COPIED = "Đã chép · Copied";

function addCopyButton(field) {
  if (!navigator.clipboard) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary copy";
  button.textContent = COPY;
  const status = document.createElement("span");
  status.setAttribute("role", "status");
  status.className = "hint";
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(field.value).then(() => {
      status.textContent = COPIED;
    }, () => {
      field.select();
    });
  });
  field.insertAdjacentElement("afterend", status);
  field.insertAdjacentElement("afterend", button);
}

const fields = document.querySelectorAll("[data-copy]");
for (let i = 0; i < fields.length; i++) addCopyButton(fields[i]);

// Choosing a variant shows its preview and snippet at once (the form's "Update" button still works).
const variant = document.getElementById("variant");
if (variant && variant.form) variant.addEventListener("change", () => variant.form.submit());
