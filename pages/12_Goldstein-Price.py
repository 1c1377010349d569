from app.page import function_page

function_page("goldstein_price")
