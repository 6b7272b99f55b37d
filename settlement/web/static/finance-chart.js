// Draws the revenue-per-operator chart (Chart.js) from the JSON the page carries. The
// data table below it stays: it is the chart for screen readers and for no-script.
(function () {
  "use strict";
  var source = document.getElementById("revenue-data");
  var canvas = document.getElementById("revenue-chart");
  if (!source || !canvas || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var series = data.series;
  if (!series.days.length) { return; }
  // Colour-blind-safe palette (Okabe-Ito), darkened where needed for contrast on white.
  var palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56B4E9", "#000000"];
  var exponent = { JPY: 0, KRW: 0, BHD: 3, JOD: 3, KWD: 3, OMR: 3, TND: 3 }[series.currency];
  var divisor = Math.pow(10, exponent === undefined ? 2 : exponent);
  var money = new Intl.NumberFormat(data.lang === "fr" ? "fr-FR" : "en-GB", {
    style: "currency", currency: series.currency
  });
  var box = canvas.parentElement;
  box.hidden = false;
  window.revenueChart = new window.Chart(canvas, {
    type: "line",
    data: {
      labels: series.days,
      datasets: series.operators.map(function (op, i) {
        var colour = palette[i % palette.length];
        return {
          label: op.name,
          // Chart.js plots numbers: minor units become major units for display only.
          data: op.amounts_minor.map(function (v) { return v / divisor; }),
          borderColor: colour,
          backgroundColor: colour,
          pointRadius: 3,
          tension: 0
        };
      })
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { beginAtZero: true, ticks: { callback: function (v) { return money.format(v); } } }
      },
      plugins: {
        tooltip: {
          callbacks: {
            label: function (ctx) { return ctx.dataset.label + ": " + money.format(ctx.parsed.y); }
          }
        }
      }
    }
  });
  canvas.dataset.rendered = String(series.operators.length);
})();
